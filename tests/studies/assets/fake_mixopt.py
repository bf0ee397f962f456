"""A stand-in for the `mixopt` command in local-launcher tests: `train JOB` and `eval ...`.

train: sleeps FAKE_TRAIN_SLEEP seconds (default 0.2), exits FAKE_TRAIN_EXIT if set, else
writes a "checkpoint" holding the job's weights and a version-1 train_result.json. With
FAKE_TRAIN_CHILD=1 it first starts a sleeping child of its own (as a launcher's workers would
be) and with FAKE_TRAIN_IGNORE_TERM=1 it ignores SIGTERM; ``<output_dir>/pids.json`` names
both processes once they run. With FAKE_TRAIN_UNTIL=PATH it sleeps until PATH exists (at most
FAKE_TRAIN_SLEEP seconds).
eval: writes a version-1 EvalResult whose in_score is a known quadratic of the weights, plus
FAKE_SCORE_SHIFT (default 0).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

OPTIMUM = {"lisa": 0.5, "sat": 0.3, "scienceqa": 0.2}


def score(weights: dict[str, float]) -> float:
    """The true in_score of a mixture (what a test expects a trial to record)."""
    shift = float(os.environ.get("FAKE_SCORE_SHIFT", "0"))
    return 0.8 - 2 * sum((weights.get(d, 0.0) - w) ** 2 for d, w in OPTIMUM.items()) + shift


def train(job_path: str) -> int:
    job = yaml.safe_load(Path(job_path).read_text())
    out = Path(job["output_dir"])
    if os.environ.get("FAKE_TRAIN_IGNORE_TERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pids = {"train": os.getpid()}
    if os.environ.get("FAKE_TRAIN_CHILD"):
        pids["child"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]).pid
    out.mkdir(parents=True, exist_ok=True)
    (out / "pids.json.tmp").write_text(json.dumps(pids))
    (out / "pids.json.tmp").replace(out / "pids.json")
    deadline = time.monotonic() + float(os.environ.get("FAKE_TRAIN_SLEEP", "0.2"))
    until = os.environ.get("FAKE_TRAIN_UNTIL")
    while time.monotonic() < deadline and not (until and Path(until).exists()):
        time.sleep(0.05)
    if os.environ.get("FAKE_TRAIN_EXIT"):
        print("fake training crashed", file=sys.stderr)
        return int(os.environ["FAKE_TRAIN_EXIT"])
    final = out / "final"
    final.mkdir(parents=True, exist_ok=True)
    (final / "weights.json").write_text(json.dumps(job["domains"]))
    (final / "env.json").write_text(json.dumps({
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "MASTER_PORT": os.environ.get("MASTER_PORT"), "run_id": job["tracking"]["run_id"]}))
    result = {"schema_version": 1, "complete": True, "steps": 3, "samples": {},
              "bad_records": {}, "runtime_seconds": 0.2, "final_checkpoint": str(final),
              "mlflow_run_id": job["tracking"]["run_id"]}
    (out / "train_result.json").write_text(json.dumps(result))
    return 0


def evaluate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkpoint")
    parser.add_argument("--out")
    args, _ = parser.parse_known_args(argv)
    weights = json.loads((Path(args.checkpoint) / "weights.json").read_text())
    value = score(weights)
    bench = {"metric": "mean_iou", "score": value, "n": 10, "n_skipped": 0, "stderr": 0.01,
             "kind": "in_domain", "format_rate": 1.0, "samples_per_prompt": 1}
    result = {"schema_version": 1, "checkpoint": args.checkpoint, "step": 3,
              "benchmarks": {"lisa": bench}, "objectives": {"in_score": value}, "settings": {}}
    Path(args.out).write_text(json.dumps(result))
    return 0


def main() -> int:
    command, *rest = sys.argv[1:]
    return train(rest[0]) if command == "train" else evaluate(rest)


if __name__ == "__main__":
    sys.exit(main())
