#!/usr/bin/env bash
# vLLM 0.24.0 on the lent GPU machine (issue 17): receive the wheel pieces, install, measure.
#
# Here (CPU machine), once: scripts/device_vllm_pieces.sh (downloads the wheels into
# .device-wheels/whl, tars and splits them into .device-wheels/pieces/wheels.tar.N, 50 MiB each).
# There, one `run` per piece, back to back (a warm machine keeps /tmp for ~30 s between calls):
#     carry [".device-wheels/pieces/wheels.tar.N"], command "bash scripts/device_vllm.sh recv"
# then the steps, each its own call (each installs first if needed, from /tmp/wheels):
#     bash scripts/device_vllm.sh smoke       # import vllm; generate text + image (2B random)
#     bash scripts/device_vllm.sh grpo-base   # grpo_throughput: trl-default, rlvr-default
#     bash scripts/device_vllm.sh grpo-vllm   # grpo_throughput: vllm-colocate configurations
#     bash scripts/device_vllm.sh eval-train  # mixopt eval hf vs vllm; mixopt train vllm-colocate
#     bash scripts/device_vllm.sh logprob     # vLLM vs HF log-probabilities, before/after sync
#     bash scripts/device_vllm.sh eval        # mixopt eval hf vs vllm only
#     bash scripts/device_vllm.sh probe       # vLLM vs trainer log-probs inside GRPO steps
# Results go to $OUT (JSON + one log per step).
set -uo pipefail
W=/tmp/wheels
EXT=/tmp/pyext
OUT=${OUT:-/tmp/out}
mkdir -p "$W" "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# flashinfer does not travel (scripts/device_vllm_pieces.sh): vLLM's top-k/top-p sampler without it
export VLLM_USE_FLASHINFER_SAMPLER=0
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1

install() {
    [ -f "$EXT/.installed" ] && return 0
    local n
    local want
    want=$(wc -l < "$W/pieces.sha256" 2>/dev/null || echo "?")
    n=$(ls "$W"/wheels.tar.? 2>/dev/null | wc -l)
    [ "$n" = "$want" ] || { echo "have $n of $want wheel pieces in $W (pieces.sha256 comes with the last)"; return 1; }
    mkdir -p "$W/whl" && (cd "$W" && sha256sum -c pieces.sha256 --ignore-missing 2>/dev/null; cat wheels.tar.? | tar xf - -C "$W/whl") || return 1
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$EXT" "$W"/whl/*.whl || return 1
    touch "$EXT/.installed"
}

use() {
    install || exit 1
    export PYTHONPATH="$EXT:$PWD"
}

grpo() {  # grpo_throughput with float32 masters, whole cycles, 2 warm-up cycles
    python3 benchmarks/grpo_throughput.py --steps 16 --warmup-cycles 2 --baseline-steps 2 \
        --weights-dtype float32 --work "/tmp/grpo-$1" --out "$OUT/grpo_$1.json" --configs "$2"
}

case "${1:-}" in
recv)
    mv .device-wheels/pieces/* "$W"/ && ls -la "$W" && df -h /tmp | tail -1 ;;
smoke)
    use
    { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
      python3 -c "import vllm, torch, transformers, trl; print('vllm', vllm.__version__, \
'torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__)"
      python3 benchmarks/vllm_generate.py --out "$OUT/vllm_generate.json"
    } 2>&1 | tee "$OUT/smoke.log" ;;
grpo-base)
    use
    grpo base trl-default,rlvr-default 2>&1 | tee "$OUT/grpo_base.log" ;;
grpo-vllm)
    use
    # One process per configuration: a second vLLM engine in a process that held one may
    # not get the first one's memory back.
    for c in ${CONFIGS:-rlvr-vllm rlvr-vllm-spg8-nogc-mem15 rlvr-vllm-spg8-nogc-sleep-mem15}; do
        echo "== $c"
        grpo "$c" "$c"
    done 2>&1 | tee "$OUT/grpo_vllm.log" ;;
logprob)  # does vLLM score its samples as the trainer does (before/after TRL's weight sync)
    use
    python3 benchmarks/vllm_logprob_check.py ${LOGPROB_ARGS:-} --out "$OUT/vllm_logprob_check.json" 2>&1 \
        | tee "$OUT/logprob.log" ;;
probe)  # benchmarks/logprob_probe.py on the trainer's own batches (PROBE_CONFIGS, 2 generations)
    use
    for c in ${PROBE_CONFIGS:-rlvr-vllm-spg8-nogc-sleep-mem15}; do
        echo "== $c"
        python3 benchmarks/grpo_throughput.py --steps ${PROBE_STEPS:-16} --warmup-cycles 0 \
            --weights-dtype float32 --probe-logps 2 --work "/tmp/probe-$c" \
            --out "$OUT/probe_$c.json" --configs "$c"
    done 2>&1 | tee "$OUT/probe.log" ;;
eval)
    use
    python3 benchmarks/vllm_eval_compare.py --records 64 --max-new-tokens 128 \
        --work /tmp/eval2 --out "$OUT/vllm_eval_compare.json" 2>&1 | tee "$OUT/eval.log" ;;
eval-train)
    use
    { python3 benchmarks/vllm_eval_compare.py --records 64 --max-new-tokens 128 \
          --work /tmp/eval --out "$OUT/vllm_eval_compare.json"
      python3 benchmarks/multi_gpu_train.py --processes 1 --steps ${TRAIN_STEPS:-16} \
          --warmup-steps 8 --generation-backend vllm-colocate \
          ${TRAIN_SPG:+--steps-per-generation $TRAIN_SPG} \
          --gpu-memory-utilization ${TRAIN_MEM:-0.3} --work /tmp/mg \
          --out "$OUT/mixopt_train_vllm.json"
      tail -c 4000 /tmp/mg/n1-float32-vllm-colocate/launch.log
    } 2>&1 | tee "$OUT/eval_train.log" ;;
*)
    echo "usage: $0 recv|smoke|grpo-base|grpo-vllm|logprob|probe|eval|eval-train" >&2; exit 2 ;;
esac
