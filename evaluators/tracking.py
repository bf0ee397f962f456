"""Logging an `EvalResult` to an MLflow run, through `MlflowClient` with an explicit run id.

Metric names are the ones a score has everywhere else (``outcome.json``'s metrics, the
trial's run, ``study status --json``, ``eval.objective.metric``): ``<benchmark>`` (its score),
``<benchmark>.stderr``, ``<benchmark>.n``, ``<benchmark>.n_skipped``, ``<benchmark>.format_rate``
and the aggregates ``in_score`` / ``out_score``, all at the checkpoint's step (0 when unknown),
so the checkpoints of one run form curves of the very metric a study reads. (Until 2026-12-07
they were logged a second time under ``eval.<benchmark>.<metric>`` and ``eval.<aggregate>``.)
"""

from __future__ import annotations

import time

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from evaluators.result import EvalResult


def eval_metrics(result: EvalResult) -> dict[str, float]:
    """The metrics of ``result`` by MLflow name (see the module docstring)."""
    metrics: dict[str, float] = {}
    for name, score in result.benchmarks.items():
        metrics[name] = score.score
        if score.stderr is not None:
            metrics[f"{name}.stderr"] = score.stderr
        metrics[f"{name}.n"] = float(score.n)
        metrics[f"{name}.n_skipped"] = float(score.n_skipped)
        if score.format_rate is not None:
            metrics[f"{name}.format_rate"] = score.format_rate
    metrics.update(result.objectives)
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
