"""One checkpoint evaluation of a `local` trial: ``python -m studies.checkpoint_eval
TRIAL_DIR/trial.json --fraction F --checkpoint FOLDER``.

A study with ``search.fidelity`` gives every trial's job a ``checkpoint_hook``
(`rlvr.job.CheckpointHookSettings`, written by `studies.trial_files.prepare_trial`): at each
checkpoint fraction short of the full budget the trainer saves ``checkpoint-<step>`` and runs
this command on it, waiting. It runs the trial's ``checkpoint_eval`` command of ``trial.json``
(the trial's own ``mixopt eval``, without logging into MLflow) with its result in
``TRIAL_DIR/checkpoint_evals/eval-<thousandths>.json`` and log beside it, then adds the
evaluation's metrics (every benchmark's score and ``in_score`` / ``out_score``, as in
``outcome.json``) to the attempt's ``checkpoints.json`` with `studies.checkpoints.write_checkpoint`,
the writer of the function launcher's ``report``. The driver logs them from there
(`studies.early_stop.CheckpointWatch`). A fraction the file already holds (a resumed run) is
not evaluated again. Exit code 0 when the checkpoint is in the file; otherwise nonzero with
the reason on stderr (the trainer then ends the run, and the trial fails with it).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
from pathlib import Path

from studies.checkpoints import (
    CheckpointFileError,
    checkpoint_step,
    read_checkpoints,
    write_checkpoint,
)
from studies.trial_files import CHECKPOINT_PLACEHOLDER, OUT_PLACEHOLDER
from studies.trial_process import PR_SET_PDEATHSIG, _eval_metrics, _run, _tail

EVALS_DIR = "checkpoint_evals"


def eval_paths(trial_dir: Path, fraction: float) -> tuple[Path, Path]:
    """The evaluation result and log of the checkpoint at `fraction`."""
    stem = f"eval-{checkpoint_step(fraction):04d}"
    folder = Path(trial_dir) / EVALS_DIR
    return folder / f"{stem}.json", folder / f"{stem}.log"


def evaluate_trial_checkpoint(trial_json: Path, fraction: float,
                              checkpoint: Path) -> tuple[int, str]:
    """Evaluate `checkpoint` as the trial's checkpoint at `fraction` and add it to
    ``checkpoints.json``. Returns the exit code and a one-line message."""
    trial_json = Path(trial_json)
    trial_dir = trial_json.parent
    try:
        trial = json.loads(trial_json.read_text(encoding="utf-8"))
        run_id, template = trial["run_id"], list(trial["checkpoint_eval"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        return 2, f"{trial_json}: no usable checkpoint_eval command ({type(err).__name__}: {err})"
    try:
        done = read_checkpoints(trial_dir, run_id)
    except CheckpointFileError as err:
        return 2, str(err)
    if any(c.fraction >= fraction - 1e-9 for c in done):
        return 0, (f"checkpoint at {fraction:g} of the budget: already in "
                   f"{trial_dir / 'checkpoints.json'}, not evaluated again")
    out, log = eval_paths(trial_dir, fraction)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # an earlier attempt's result must not stand in for this one
    cmd = [str(checkpoint) if part == CHECKPOINT_PLACEHOLDER else
           str(out) if part == OUT_PLACEHOLDER else part for part in template]
    code = _run(cmd, log)
    if code != 0:
        return code, (f"checkpoint evaluation at {fraction:g} of the budget: mixopt eval "
                      f"exited with code {code}; {log}: {_tail(log)}")
    status, metrics, problem = _eval_metrics(out)
    if status != "completed":
        return 2, problem
    try:
        write_checkpoint(trial_dir, run_id, fraction, metrics)
    except CheckpointFileError as err:
        return 2, str(err)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
    return 0, f"checkpoint at {fraction:g} of the budget ({checkpoint}): {shown}"


def die_with_parent() -> None:
    """Get SIGTERM when the process that started this one (the trainer) dies (Linux; else
    nothing). Armed here, in this process, rather than by the trainer: a ``preexec_fn`` in the
    trainer's many-threaded process could deadlock in the forked child. The `mixopt eval` run
    from here dies with this process in turn (`studies.trial_process._run`), so a trainer
    killed alone (its process group aside) leaves no evaluation behind."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the trainer died before the signal was armed
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    die_with_parent()
    parser = argparse.ArgumentParser(prog="python -m studies.checkpoint_eval",
                                     description="Evaluate one checkpoint of a trial.")
    parser.add_argument("trial_json", type=Path, help="TRIAL_DIR/trial.json")
    parser.add_argument("--fraction", type=float, required=True,
                        help="the checkpoint's fraction of the trial's budget, in (0, 1)")
    parser.add_argument("--checkpoint", type=Path, required=True, help="the checkpoint folder")
    args = parser.parse_args(argv)
    if not 0 < args.fraction < 1:
        print(f"--fraction {args.fraction:g}: must lie in (0, 1)", file=sys.stderr)
        return 2
    code, message = evaluate_trial_checkpoint(args.trial_json, args.fraction, args.checkpoint)
    print(message, file=sys.stderr if code else sys.stdout, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
