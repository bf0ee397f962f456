"""Checkpoint observations of a trial: the attempt's file, and their record in MLflow.

A trial of a study with ``search.fidelity`` is evaluated at fractions of its budget. What
crosses from the trial to the driver is ``checkpoints.json`` in the attempt folder, rewritten
whole (atomically) at each checkpoint::

    {"schema_version": 1, "run_id": "<the attempt's MLflow run>",
     "checkpoints": [{"fraction": 0.25, "metrics": {"out_score": 0.61}, "written_at": ...}]}

The driver reads it while it polls the trial and logs every checkpoint it has not logged yet
on the attempt's run as step metrics: ``checkpoint.<metric>``, ``checkpoint.objective`` and
``checkpoint.fidelity`` (the fraction) at MLflow step ``round(fraction * 1000)``. Their own
prefix keeps the run's final metrics (step 0, `Ledger.mark_completed`) what they were. The
observations the search policy fits are read back from those metric histories
(`logged_checkpoints`), never from the driver's memory, so a killed driver loses none that it
had logged, and one it had not yet logged is still in the file of the attempt.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixopt.errors import MixoptError
from rlvr.atomic_write import write_text_atomic
from studies.config import CHECKPOINT_STEPS

SCHEMA_VERSION = 1
CHECKPOINTS_FILE = "checkpoints.json"
PREFIX = "checkpoint."
FIDELITY_METRIC = PREFIX + "fidelity"
OBJECTIVE_METRIC = PREFIX + "objective"


class CheckpointFileError(MixoptError):
    """A checkpoints file that is corrupt, of another version, or of another attempt."""


@dataclass(frozen=True)
class Checkpoint:
    """One evaluation of a trial at `fraction` of its budget (``metrics``: name -> value)."""

    fraction: float
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def step(self) -> int:
        return checkpoint_step(self.fraction)


def checkpoint_step(fraction: float) -> int:
    """The MLflow step of a checkpoint: its fraction of the budget in thousandths."""
    return round(fraction * CHECKPOINT_STEPS)


# -- the attempt's file ------------------------------------------------------------------------


def write_checkpoint(trial_dir: Path, run_id: str, fraction: float,
                     metrics: Mapping[str, float]) -> Path:
    """Add one checkpoint to the attempt's ``checkpoints.json`` (rewritten atomically).

    Raises:
        CheckpointFileError: `fraction` not after the file's last one, or a bad file.
    """
    done = read_checkpoints(trial_dir, run_id)
    if done and fraction <= done[-1].fraction:
        raise CheckpointFileError(f"checkpoint at {fraction:g} of the budget after one at "
                                  f"{done[-1].fraction:g}: checkpoints must increase")
    rows = [{"fraction": c.fraction, "metrics": dict(c.metrics)} for c in done]
    rows.append({"fraction": float(fraction), "metrics": {k: float(v) for k, v in
                                                          metrics.items()},
                 "written_at": time.time()})
    content = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "checkpoints": rows}
    return write_text_atomic(Path(trial_dir) / CHECKPOINTS_FILE,
                             json.dumps(content, indent=2) + "\n")


def read_checkpoints(trial_dir: Path, run_id: str) -> list[Checkpoint]:
    """The checkpoints in the attempt's file, by fraction; none without a file.

    Raises:
        CheckpointFileError: a corrupt file, another version, or another run's file (the
            message names the file and what is wrong).
    """
    path = Path(trial_dir) / CHECKPOINTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise CheckpointFileError(f"{path}: not a JSON checkpoints file ({err})") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise CheckpointFileError(f"{path}: not a version-{SCHEMA_VERSION} checkpoints file")
    if data.get("run_id") != run_id:
        raise CheckpointFileError(f"{path}: checkpoints of run {data.get('run_id')}, not of "
                                  f"the attempt's run {run_id}")
    out = []
    for i, row in enumerate(data.get("checkpoints") or []):
        try:
            fraction = float(row["fraction"])
            metrics = {str(k): float(v) for k, v in dict(row["metrics"]).items()}
        except (KeyError, TypeError, ValueError):
            raise CheckpointFileError(f"{path}: checkpoints[{i}] needs a fraction and a "
                                      "metrics object of numbers") from None
        if not 0 < fraction <= 1 or not all(math.isfinite(v) for v in metrics.values()):
            raise CheckpointFileError(f"{path}: checkpoints[{i}]: fraction {fraction:g} "
                                      "outside (0, 1] or a metric that is not finite")
        out.append(Checkpoint(fraction, metrics))
    return sorted(out, key=lambda c: c.fraction)


# -- the attempt's MLflow run ------------------------------------------------------------------


def log_checkpoint(client: Any, run_id: str, checkpoint: Checkpoint,
                   objective: float | None) -> None:
    """Log `checkpoint` on the run as ``checkpoint.*`` step metrics in one batch (fraction,
    metrics, and the objective when it could be computed)."""
    from mlflow.entities import Metric  # here: a trial's side writes the file without MLflow

    now = int(time.time() * 1000)
    values = {PREFIX + k: float(v) for k, v in checkpoint.metrics.items()}
    if objective is not None:
        values[OBJECTIVE_METRIC] = float(objective)
    values[FIDELITY_METRIC] = float(checkpoint.fraction)
    client.log_batch(run_id, metrics=[Metric(k, v, now, checkpoint.step)
                                      for k, v in values.items() if math.isfinite(v)])


def logged_steps(client: Any, run_id: str) -> set[int]:
    """Steps of the checkpoints logged on the run."""
    return {m.step for m in client.get_metric_history(run_id, FIDELITY_METRIC)}


def logged_checkpoints(client: Any, run_id: str, names: Iterable[str]) -> list[Checkpoint]:
    """The checkpoints logged on the run, by fraction, with the metrics `names` (those a
    checkpoint has: a metric it did not report is absent from its `metrics`)."""
    fractions = {m.step: m.value for m in client.get_metric_history(run_id, FIDELITY_METRIC)}
    if not fractions:
        return []
    metrics: dict[int, dict[str, float]] = {step: {} for step in fractions}
    for name in names:
        for m in sorted(client.get_metric_history(run_id, PREFIX + name),
                        key=lambda m: m.timestamp):
            if m.step in metrics:
                metrics[m.step][name] = m.value
    return [Checkpoint(fractions[s], metrics[s]) for s in sorted(fractions)]
