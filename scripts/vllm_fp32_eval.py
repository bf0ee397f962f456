"""`mixopt eval --backend vllm` with vLLM in float32 (its CPU build runs float32 checkpoints in
bfloat16 by default), for comparing greedy completions with the HF backend token for token.

    python scripts/vllm_fp32_eval.py CHECKPOINT OUT.json [--limit 20] [--max-new-tokens 32]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evaluators import (
    GenerationSettings,
    VLLMGenerator,
    evaluate_with,
    resolve_benchmarks,
    samples_path_for,
    write_result,
    write_samples,
)
from rlvr.domains import default_registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("out", type=Path)
    parser.add_argument("--benchmarks", default="synth_spatial,synth_chart")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    args = parser.parse_args()
    settings = GenerationSettings(backend="vllm", max_new_tokens=args.max_new_tokens)
    specs = resolve_benchmarks(default_registry(()), args.benchmarks.split(","))
    generator = VLLMGenerator(args.checkpoint, settings, dtype="float32")
    result, samples = evaluate_with(
        generator, specs, settings, checkpoint=args.checkpoint, limit=args.limit
    )
    write_result(result, args.out)
    write_samples(samples, samples_path_for(args.out))
    print({name: score.score for name, score in result.benchmarks.items()})


if __name__ == "__main__":
    main()
