"""One trial attempt as a process: ``python -m studies.trial_process TRIAL_DIR/trial.json``.

Runs the trial's ``mixopt train`` then ``mixopt eval`` (commands from ``trial.json``, written
by `studies.trial_files`), each with its own log file, and always ends by writing
``outcome.json``: ``{"schema_version": 1, "status": "completed"|"failed", "metrics": {...},
"reason": "..."}``. The metrics are the evaluation's benchmark scores and objectives. With
``num_processes > 1`` the training runs under ``accelerate launch`` on ``$MASTER_PORT``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlvr.atomic_write import write_text_atomic

SCHEMA_VERSION = 1
OUTCOME_FILE = "outcome.json"
LOG_TAIL_LINES = 5


class OutcomeFileError(ValueError):
    """An outcome file that is missing its parts or of another version."""


def write_outcome(trial_dir: Path, status: str, metrics: Mapping[str, float] | None = None,
                  reason: str = "") -> Path:
    content = {"schema_version": SCHEMA_VERSION, "status": status,
               "metrics": dict(metrics or {}), "reason": reason, "written_at": time.time()}
    return write_text_atomic(trial_dir / OUTCOME_FILE, json.dumps(content, indent=2) + "\n")


def read_outcome(trial_dir: Path) -> dict[str, Any] | None:
    """The outcome in `trial_dir`, or None when there is none yet.

    Raises:
        OutcomeFileError: a corrupt or foreign file (the message names it).
    """
    path = Path(trial_dir) / OUTCOME_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise OutcomeFileError(f"{path}: not a JSON outcome ({err})") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise OutcomeFileError(f"{path}: not a version-{SCHEMA_VERSION} trial outcome")
    if data.get("status") not in ("completed", "failed") or not isinstance(
            data.get("metrics"), dict):
        raise OutcomeFileError(f"{path}: needs a status (completed|failed) and a metrics object")
    return data


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-LOG_TAIL_LINES:])


def _run(cmd: list[str], log: Path) -> int:
    with log.open("ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False).returncode


def train_command(trial: Mapping[str, Any]) -> list[str]:
    cmd = list(trial["train"])
    procs = int(trial.get("num_processes", 1))
    if procs <= 1:
        return cmd
    # `accelerate launch` replaces "python -m studies.cli"; its port is the trial's own.
    module_at = cmd.index("-m") if "-m" in cmd else None
    rest = cmd[module_at:] if module_at is not None else ["-m", "studies.cli", *cmd[1:]]
    return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(procs),
            "--main_process_port", os.environ.get("MASTER_PORT", "29500"), *rest]


def checkpoint_of(train_output: Path) -> tuple[str | None, str]:
    """The final checkpoint named by ``train_result.json`` (the training result, version 1)."""
    path = train_output / "train_result.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return None, f"no readable training result at {path} ({err})"
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        return None, f"{path}: not a version-1 training result"
    if not data.get("complete") or not data.get("final_checkpoint"):
        return None, f"{path}: training did not complete"
    return str(data["final_checkpoint"]), ""


def run_trial(trial_json: Path) -> dict[str, Any]:
    """Run the trial described by `trial_json`; returns (and writes) its outcome."""
    trial_json = Path(trial_json)
    trial_dir = trial_json.parent
    try:
        trial = json.loads(trial_json.read_text(encoding="utf-8"))
        if trial.get("schema_version") != 1:
            raise ValueError(f"schema_version {trial.get('schema_version')!r}, expected 1")
    except (OSError, ValueError) as err:
        write_outcome(trial_dir, "failed", reason=f"{trial_json}: unusable trial file ({err})")
        return read_outcome(trial_dir) or {}
    log = trial_dir / "train.log"
    code = _run(train_command(trial), log)
    if code != 0:
        write_outcome(trial_dir, "failed",
                      reason=f"mixopt train exited with code {code}; {log}: {_tail(log)}")
        return read_outcome(trial_dir) or {}
    checkpoint, problem = checkpoint_of(Path(trial["train_output"]))
    if checkpoint is None:
        write_outcome(trial_dir, "failed", reason=problem)
        return read_outcome(trial_dir) or {}
    log = trial_dir / "eval.log"
    cmd = [checkpoint if part == "{checkpoint}" else part for part in trial["eval"]]
    code = _run(cmd, log)
    if code != 0:
        write_outcome(trial_dir, "failed",
                      reason=f"mixopt eval exited with code {code}; {log}: {_tail(log)}")
        return read_outcome(trial_dir) or {}
    write_outcome(trial_dir, *_eval_metrics(Path(trial["eval_result"])))
    return read_outcome(trial_dir) or {}


def _eval_metrics(path: Path) -> tuple[str, dict[str, float], str]:
    """The metrics of an ``eval.json`` (`evaluators.result.EvalResult`, version 1): every
    benchmark's score and the objectives. Read as plain JSON: importing `evaluators` would cost
    the trial process several seconds of imports for three fields."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema_version") != 1:
            raise ValueError(f"schema_version {data.get('schema_version')!r}, expected 1")
        metrics = {str(name): float(b["score"]) for name, b in data["benchmarks"].items()}
        metrics.update({str(k): float(v) for k, v in data.get("objectives", {}).items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        return "failed", {}, f"{path}: not a usable evaluation result ({type(err).__name__}: {err})"
    return "completed", metrics, ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m studies.trial_process TRIAL_DIR/trial.json", file=sys.stderr)
        return 2
    outcome = run_trial(Path(args[0]))
    return 0 if outcome.get("status") == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
