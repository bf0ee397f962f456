"""Logging an `EvalResult` to an MLflow run, through `MlflowClient` with an explicit run id.

Metric names: ``eval.<benchmark>.<metric>`` (the score), ``eval.<benchmark>.<metric>_stderr``,
``eval.<benchmark>.n``, ``eval.<benchmark>.n_skipped``, ``eval.<benchmark>.format_rate`` and
``eval.<objective>`` (``eval.in_score``...), all at the checkpoint's step (0 when unknown), so
the checkpoints of one run form curves.
"""

from __future__ import annotations

import time

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from evaluators.result import EvalResult

PREFIX = "eval"


def eval_metrics(result: EvalResult) -> dict[str, float]:
    """The metrics of ``result`` by MLflow name (see the module docstring)."""
    metrics: dict[str, float] = {}
    for name, score in result.benchmarks.items():
        base = f"{PREFIX}.{name}"
        metrics[f"{base}.{score.metric}"] = score.score
        if score.stderr is not None:
            metrics[f"{base}.{score.metric}_stderr"] = score.stderr
        metrics[f"{base}.n"] = float(score.n)
        metrics[f"{base}.n_skipped"] = float(score.n_skipped)
        if score.format_rate is not None:
            metrics[f"{base}.format_rate"] = score.format_rate
    metrics.update({f"{PREFIX}.{name}": value for name, value in result.objectives.items()})
    return metrics


def log_eval_result(client: MlflowClient, run_id: str, result: EvalResult) -> dict[str, float]:
    """Log `eval_metrics` of ``result`` to the run ``run_id`` in one batch; returns them.

    The run is neither started nor ended here (it belongs to the trial).

    Raises:
        mlflow.exceptions.MlflowException: no such run, or the store cannot be reached.
    """
    client.get_run(run_id)  # fail with a clear "run not found" before building the batch
    metrics = eval_metrics(result)
    now = int(time.time() * 1000)
    step = result.step or 0
    batch = [Metric(key, value, now, step) for key, value in metrics.items()]
    client.log_batch(run_id, metrics=batch)
    return metrics
