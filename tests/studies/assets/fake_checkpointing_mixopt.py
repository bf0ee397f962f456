"""`fake_mixopt.py` whose `train` first reports checkpoints, as a trainer that evaluates at
checkpoint steps would: for each fraction of FAKE_CHECKPOINTS (default "0.5") it sleeps
FAKE_CHECKPOINT_SLEEP seconds (default 0.5) and rewrites the attempt folder's versioned
``checkpoints.json`` (written by hand: the file format is the protocol) with in_score at that
fraction = (0.5 + 0.5 f) x the final in_score; then it trains like fake_mixopt."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
import fake_mixopt


def report_checkpoints(job_path: Path) -> None:
    job = yaml.safe_load(job_path.read_text())
    final = fake_mixopt.score(job["domains"])
    rows = []
    for text in os.environ.get("FAKE_CHECKPOINTS", "0.5").split(","):
        time.sleep(float(os.environ.get("FAKE_CHECKPOINT_SLEEP", "0.5")))
        fraction = float(text)
        rows.append({"fraction": fraction, "metrics": {"in_score": final * (0.5 + 0.5 * fraction)}})
        content = {"schema_version": 1, "run_id": job["tracking"]["run_id"], "checkpoints": rows}
        tmp = job_path.parent / "checkpoints.json.tmp"
        tmp.write_text(json.dumps(content))
        tmp.replace(job_path.parent / "checkpoints.json")


if __name__ == "__main__":
    if sys.argv[1] == "train":
        report_checkpoints(Path(sys.argv[2]))
    sys.exit(fake_mixopt.main())
