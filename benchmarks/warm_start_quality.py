"""Quality of the warm start: the tiny model before and after it, on every synthetic test split.

Usage::

    python benchmarks/warm_start_quality.py --limit 100 --out warm_start_quality.json
    python benchmarks/warm_start_quality.py --steps 200 --cache-dir /tmp/ws   # a quick look

What it does:

1. Builds (or reuses from ``--cache-dir``) the random tiny model of the recipe
   (`rlvr.models.ensure_tiny_qwen2vl`) and the warm-started one
   (`rlvr.models.warm_start.ensure_warm_started`, `WarmStartRecipe` defaults unless
   ``--steps``, ``--batch-size``, ``--learning-rate`` or ``--thinking`` say otherwise), and
   times the warm start when it is built here.
2. Scores both with the verifiable evaluator (`evaluators.verifiable.evaluate_checkpoint`,
   HF backend, greedy, ``--max-new-tokens``) on the first ``--limit`` records of the test split
   of every synthetic domain (`rlvr.domains.synthetic.domains`).

Figures per domain: the metric (accuracy, mean IoU, detection score), the chance level of a
blind guess (multiple choice: the mean over the records of 1 / number of options; boxes: 0),
the score and the format rate of both models, and the In-Score / Out-Score of each. Written as
JSON (``--out``) and printed as a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from evaluators import GenerationSettings
from evaluators.verifiable import evaluate_checkpoint
from rlvr.domains import default_registry, load_records
from rlvr.domains.spec import TEST
from rlvr.domains.synthetic.domains import OUT_OF_DOMAIN, TRAINING_DOMAINS
from rlvr.models import ensure_tiny_qwen2vl
from rlvr.models.warm_start import (
    STATS_FILE,
    WarmStartRecipe,
    ensure_warm_started,
    warm_start_folder,
)

_OPTION = re.compile(r"\([A-E]\) ")


def chance_level(name: str, limit: int) -> float:
    """The expected score of a blind guess on the first ``limit`` test records."""
    spec = default_registry().get(name)
    if spec.answer_type != "option_letter":
        return 0.0
    records = load_records(spec, TEST, limit=limit)
    return sum(1 / len(_OPTION.findall(record.problem)) for record in records) / len(records)


def score(folder: Path, names: list[str], args: argparse.Namespace) -> dict[str, Any]:
    settings = GenerationSettings(
        backend="hf", batch_size=args.batch, max_new_tokens=args.max_new_tokens
    )
    started = time.perf_counter()
    result, _ = evaluate_checkpoint(
        folder, names, default_registry(), settings, limit=args.limit, step=0
    )
    return {"result": result, "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=Path("~/.cache/mixopt").expanduser())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-new-tokens", type=int, default=192)
    parser.add_argument("--batch", type=int, default=16, help="Prompts per generate call.")
    parser.add_argument("--threads", type=int, default=2, help="torch threads.")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="Warm-start batch size.")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--thinking", choices=("scene", "fixed"), default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    overrides = {
        name: getattr(args, name)
        for name in ("steps", "batch_size", "learning_rate", "thinking")
        if getattr(args, name) is not None
    }
    recipe = dataclasses.replace(WarmStartRecipe(), **overrides)
    base = ensure_tiny_qwen2vl(args.cache_dir / "base", args.seed, recipe.model)
    cached = warm_start_folder(args.cache_dir, seed=args.seed, recipe=recipe).exists()
    started = time.perf_counter()
    warm = ensure_warm_started(args.cache_dir, seed=args.seed, recipe=recipe)
    build_seconds = None if cached else round(time.perf_counter() - started, 1)
    stats = json.loads((warm / STATS_FILE).read_text(encoding="utf-8"))

    names = [*TRAINING_DOMAINS, *OUT_OF_DOMAIN]
    runs = {"base": score(base, names, args), "warm": score(warm, names, args)}
    rows = []
    for name in names:
        row: dict[str, Any] = {"domain": name, "chance": round(chance_level(name, args.limit), 3)}
        for label, run in runs.items():
            benchmark = run["result"].benchmarks[name]
            row["kind"], row["metric"] = benchmark.kind, benchmark.metric
            row[f"{label}_score"] = round(benchmark.score, 3)
            row[f"{label}_format"] = round(benchmark.format_rate or 0.0, 3)
        rows.append(row)
    report = {
        "command": " ".join(
            ["python", "benchmarks/warm_start_quality.py", *(argv or sys.argv[1:])]
        ),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
            "torch_threads": args.threads,
        },
        "recipe": {**dataclasses.asdict(recipe), "hash": recipe.recipe_hash()[:16]},
        "warm_start_seconds": build_seconds,
        "warm_start_stats": {k: v for k, v in stats.items() if k != "losses"},
        "limit": args.limit,
        "rows": rows,
        "objectives": {label: run["result"].objectives for label, run in runs.items()},
        "eval_seconds": {label: run["seconds"] for label, run in runs.items()},
    }
    print(
        f"warm start: {build_seconds if build_seconds is not None else 'cached'} s, "
        f"loss {stats['loss_first_10']} -> {stats['loss_last_10']}"
    )
    print(
        f"{'domain':20s} {'kind':14s} {'metric':16s} {'chance':>6s} {'base':>6s} "
        f"{'warm':>6s} {'fmt b/w':>9s}"
    )
    for row in rows:
        print(
            f"{row['domain']:20s} {row['kind']:14s} {row['metric']:16s} {row['chance']:6.3f} "
            f"{row['base_score']:6.3f} {row['warm_score']:6.3f} "
            f"{row['base_format']:4.2f}/{row['warm_format']:4.2f}"
        )
    for label, objectives in report["objectives"].items():
        print(
            f"{label}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in objectives.items())
            + f" (eval {report['eval_seconds'][label]} s)"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
