#!/usr/bin/env bash
# A real lmms-eval run on CPU through our adapter (evaluators.lmms), on a local task built from
# the synthetic chart domain (the hub's ChartQA & co. cannot be downloaded here).
# Throwaway venv outside the repo (~7 GB); see docs/EVALUATION.md "lmms-eval on CPU (checked here)".
#   bash scripts/check_lmms_eval_cpu.sh CHECKPOINT [VENV=/tmp/venv-lmms] [WORK=/tmp/lmms-check]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CKPT=${1:?a Qwen2-VL checkpoint folder, e.g. a copy of runs/demo/models/warm-qwen2vl-*}
VENV=${2:-/tmp/venv-lmms}
WORK=${3:-/tmp/lmms-check}
if [ ! -x "$VENV/bin/lmms-eval" ] && [ ! -d "$VENV/lib/python3.11/site-packages/lmms_eval" ]; then
  python3.11 -m venv "$VENV"
  # torch 2.14.1 + torchvision 0.29.1 (CUDA builds that run on CPU) import together;
  # filelock 4 dropped filelock._api, which lmms-eval 0.7.3's evaluator imports;
  # lmms-eval's qwen2_vl imports decord.
  "$VENV/bin/pip" install -q 'torch==2.14.1' 'torchvision==0.29.1' lmms-eval 'math-verify>=0.9' \
    'filelock<4' decord mlflow botorch gpytorch matplotlib 'trl>=1.16'
  "$VENV/bin/pip" install -q --no-deps -e "$REPO"
fi
"$VENV/bin/python" "$REPO/scripts/lmms_local_task.py" "$WORK/task" --limit 20
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
time "$VENV/bin/python" - "$CKPT" "$WORK/out" "$WORK/task" <<'PY'
import sys
from evaluators.lmms import evaluate_lmms, parse_lmms_task

checkpoint, out, include = sys.argv[1:]
scores = evaluate_lmms(
    checkpoint, ["mixopt_synth_chart"], output_path=out,
    tasks=[parse_lmms_task("mixopt_synth_chart:accuracy")], include_path=include,
    model_args={"device": "cpu", "device_map": "cpu", "max_pixels": 12544}, log_samples=True,
)
print({name: score.model_dump() for name, score in scores.items()})
PY
