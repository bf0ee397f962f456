"""One trial attempt as a process: ``python -m studies.trial_process TRIAL_DIR/trial.json
[--run-id RUN_ID]``.

Runs the trial's ``mixopt train`` then ``mixopt eval`` (commands from ``trial.json``, written
by `studies.trial_files`), each with its own log file, and always ends by writing
``outcome.json``: ``{"schema_version": 1, "status": "completed"|"failed", "metrics": {...},
"reason": "...", "run_id": "..."}``. The metrics are the evaluation's benchmark scores and
objectives. A trial with checkpoints (``trial.json``'s ``checkpoints``: the study's
``search.fidelity``) also gets them as its checkpoint at 1.0 in ``checkpoints.json``, before
the outcome, after the trainer's checkpoint hook (`studies.checkpoint_eval`) added the earlier
ones. With ``num_processes > 1`` the training runs under ``accelerate launch`` on
``$MASTER_PORT``.

Every result is bound to its attempt by the attempt's MLflow run id (``--run-id``, else
``trial.json``'s): the outcome carries it, launchers ignore an outcome of another run
(`ForeignOutcomeError`), and a ``train_result.json`` of another run is not evaluated. On
Linux, the commands started here get SIGTERM when this process dies (``PR_SET_PDEATHSIG``), so
a killed trial process leaves no training behind it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
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
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class OutcomeFileError(ValueError):
    """An outcome file that is missing its parts or of another version."""


class ForeignOutcomeError(OutcomeFileError):
    """An outcome file written for another attempt (another MLflow run) than the one polled."""


def write_outcome(trial_dir: Path, status: str, metrics: Mapping[str, float] | None = None,
                  reason: str = "", run_id: str | None = None) -> Path:
    """Write ``outcome.json`` atomically; `run_id` is the attempt it belongs to."""
    content = {"schema_version": SCHEMA_VERSION, "status": status,
               "metrics": dict(metrics or {}), "reason": reason, "run_id": run_id,
               "written_at": time.time()}
    return write_text_atomic(trial_dir / OUTCOME_FILE, json.dumps(content, indent=2) + "\n")


def read_outcome(trial_dir: Path, run_id: str | None = None) -> dict[str, Any] | None:
    """The outcome in `trial_dir`, or None when there is none yet.

    Args:
        run_id: the attempt polled; an outcome of any other run (or of none) is refused.
            None: no check (a trial re-run by hand).

    Raises:
        ForeignOutcomeError: the outcome of another attempt (a stale file).
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
    if run_id is not None and data.get("run_id") != run_id:
        raise ForeignOutcomeError(
            f"{path} is the outcome of run {data.get('run_id')!r}, not of this attempt's run "
            f"{run_id!r} (a stale file of another study or attempt); not used")
    return data


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-LOG_TAIL_LINES:])


def _die_with_this_process() -> Any:
    """A ``preexec_fn`` giving the child SIGTERM when this process dies (Linux), or None.

    Without it a ``kill -9`` of the trial process leaves ``mixopt train`` running, reparented
    to init, beside the retry (the launcher also kills the whole process group; this covers a
    trial process whose launcher is gone too)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # died before the signal was armed
            os._exit(1)

    return preexec


def _run(cmd: list[str], log: Path) -> int:
    with log.open("ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False,
                              preexec_fn=_die_with_this_process()).returncode


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


def checkpoint_of(train_output: Path, run_id: str | None = None) -> tuple[str | None, str]:
    """The final checkpoint named by ``train_result.json`` (the training result, version 1),
    or None and why not. A result of another MLflow run than `run_id` is refused: the
    trainer returns a complete result as it finds it, whichever job left it."""
    path = train_output / "train_result.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return None, f"no readable training result at {path} ({err})"
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        return None, f"{path}: not a version-1 training result"
    if not data.get("complete") or not data.get("final_checkpoint"):
        return None, f"{path}: training did not complete"
    found = data.get("mlflow_run_id")
    if run_id is not None and found is not None and found != run_id:
        return None, (f"{path} is the training result of run {found!r}, not of this attempt's "
                      f"run {run_id!r} (a stale folder); not evaluated")
    return str(data["final_checkpoint"]), ""


def run_trial(trial_json: Path, run_id: str | None = None) -> dict[str, Any]:
    """Run the trial described by `trial_json`; returns (and writes) its outcome.

    Args:
        run_id: the attempt's MLflow run id, as its launcher knows it; None: ``trial.json``'s.
            A ``trial.json`` of another run is not run (the outcome says why).
    """
    trial_json = Path(trial_json)
    trial_dir = trial_json.parent

    def end(status: str, metrics: Mapping[str, float] | None = None,
            reason: str = "") -> dict[str, Any]:
        write_outcome(trial_dir, status, metrics, reason, run_id=run_id)
        return read_outcome(trial_dir) or {}

    try:
        trial = json.loads(trial_json.read_text(encoding="utf-8"))
        if trial.get("schema_version") != 1:
            raise ValueError(f"schema_version {trial.get('schema_version')!r}, expected 1")
    except (OSError, ValueError, AttributeError) as err:
        return end("failed", reason=f"{trial_json}: unusable trial file ({err})")
    if run_id is None:
        run_id = trial.get("run_id")
    elif trial.get("run_id") != run_id:
        return end("failed", reason=f"{trial_json} is the trial file of run "
                   f"{trial.get('run_id')!r}, not of this attempt's run {run_id!r}")
    log = trial_dir / "train.log"
    code = _run(train_command(trial), log)
    if code != 0:
        return end("failed", reason=f"mixopt train exited with code {code}; {log}: {_tail(log)}")
    checkpoint, problem = checkpoint_of(Path(trial["train_output"]), run_id)
    if checkpoint is None:
        return end("failed", reason=problem)
    log = trial_dir / "eval.log"
    eval_result = Path(trial["eval_result"])
    eval_result.unlink(missing_ok=True)  # an earlier run's file must not stand in for this one
    cmd = [checkpoint if part == "{checkpoint}" else part for part in trial["eval"]]
    code = _run(cmd, log)
    if code != 0:
        return end("failed", reason=f"mixopt eval exited with code {code}; {log}: {_tail(log)}")
    status, metrics, reason = _eval_metrics(eval_result)
    if status == "completed" and trial.get("checkpoints"):
        reason = _final_checkpoint(trial_dir, run_id, metrics)
    return end(status, metrics, reason)


def _final_checkpoint(trial_dir: Path, run_id: str | None, metrics: Mapping[str, float]) -> str:
    """Add the full run's evaluation to ``checkpoints.json`` as its checkpoint at 1.0 (the
    last point of the trial's curve), unless the file has it. Returns "" or, when the file
    cannot take it, why (the trial still completes: the driver logs the full run anyway)."""
    from studies.checkpoints import CheckpointFileError, read_checkpoints, write_checkpoint

    try:
        done = read_checkpoints(trial_dir, str(run_id))
        if not done or done[-1].fraction < 1.0:
            write_checkpoint(trial_dir, str(run_id), 1.0, metrics)
    except CheckpointFileError as err:
        return f"the full run's checkpoint was not written: {err}"
    return ""


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
    parser = argparse.ArgumentParser(prog="python -m studies.trial_process",
                                     description="Run one trial attempt.")
    parser.add_argument("trial_json", type=Path, help="TRIAL_DIR/trial.json")
    parser.add_argument("--run-id", default=None,
                        help="the attempt's MLflow run id (default: trial.json's)")
    args = parser.parse_args(argv)
    outcome = run_trial(args.trial_json, run_id=args.run_id)
    return 0 if outcome.get("status") == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
