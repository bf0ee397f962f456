"""MLflow for a training run: the run to log into, its parameters, and the training curves.

Everything goes through an `MlflowClient` with an explicit tracking URI and run id: no fluent
API, no global active run, no environment variables (a study driver holds many runs at once,
and transformers' own MLflow callback would end a run that the study owns and log a few hundred
parameters). Only the main process of a multi-process run logs.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from transformers import TrainerCallback

from rlvr.job import TrainJob
from rlvr.sampling import MixturePlan

# MLflow's own limits (mlflow.utils.validation): per log_batch call.
_METRICS_PER_BATCH = 1000
_PARAMS_PER_BATCH = 100
# Characters MLflow accepts in metric names (transformers' callback uses the same rule).
_UNSUPPORTED = re.compile(r"[^0-9A-Za-z_\-. :/]")


def open_run(job: TrainJob, previous_run_id: str | None = None) -> tuple[MlflowClient, str, bool]:
    """The MLflow run that ``job`` logs into.

    Args:
        job: ``job.tracking`` names the tracking URI, the run, or the experiment of a new run.
        previous_run_id: the run an interrupted attempt of the same job created (from its
            result file), reused so that a resumed run continues the same curves.

    Returns:
        ``(client, run_id, created)``; ``created`` is True when this call (or the interrupted
        attempt) created the run, which the trainer then also ends.

    Raises:
        mlflow.exceptions.MlflowException: the named run does not exist, the store cannot be
            reached.
    """
    client = MlflowClient(tracking_uri=job.tracking.mlflow_tracking_uri)
    if job.tracking.run_id is not None:
        client.get_run(job.tracking.run_id)  # fail now, not after an hour of training
        return client, job.tracking.run_id, False
    if previous_run_id is not None:
        client.update_run(previous_run_id, status="RUNNING")
        return client, previous_run_id, True
    experiment = client.get_experiment_by_name(job.tracking.experiment_name)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(job.tracking.experiment_name)
    )
    run = client.create_run(experiment_id, run_name=job.output_dir.name or None)
    return client, run.info.run_id, True


def job_params(job: TrainJob, plan: MixturePlan) -> dict[str, str]:
    """The run's parameters: ``w.<domain>`` (every domain of the job), ``n.<domain>`` (prompts
    actually drawn), ``budget``, ``seed``, ``sampling_mode``, ``model`` and ``grpo.*``."""
    params: dict[str, object] = {f"w.{name}": weight for name, weight in job.domains.items()}
    params.update({f"n.{name}": count for name, count in plan.counts.items()})
    params.update(
        budget=job.budget,
        seed=job.seed,
        sampling_mode=job.sampling_mode,
        model=job.model,
        num_samples=len(plan),
        generation_backend=job.generation.backend,
        lora=job.lora is not None,
    )
    params.update({f"grpo.{key}": value for key, value in job.grpo.model_dump().items()})
    return {key: str(value) for key, value in params.items()}


def log_params(client: MlflowClient, run_id: str, params: Mapping[str, str]) -> None:
    """Log ``params`` that the run does not hold yet.

    MLflow refuses to change a parameter; the study may have logged ``w.<domain>`` on the run
    already, and a resumed run logs the same values again, so keys already there are skipped.
    """
    existing = client.get_run(run_id).data.params
    new = [Param(key, value) for key, value in params.items() if key not in existing]
    for start in range(0, len(new), _PARAMS_PER_BATCH):
        client.log_batch(run_id, params=new[start : start + _PARAMS_PER_BATCH])


class MlflowCurvesCallback(TrainerCallback):
    """Logs every numeric value of the trainer's logs as a metric at ``state.global_step``.

    Synchronous, on the main process only; None and NaN values (TRL logs None for a metric with
    no data in the step) are skipped. The run is neither started nor ended here.

    Args:
        client: the MLflow client.
        run_id: the run to log into.
    """

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self._client = client
        self._run_id = run_id

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        now = int(time.time() * 1000)
        metrics = [
            Metric(_UNSUPPORTED.sub("_", key), float(value), now, state.global_step)
            for key, value in logs.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        ]
        for start in range(0, len(metrics), _METRICS_PER_BATCH):
            batch = metrics[start : start + _METRICS_PER_BATCH]
            self._client.log_batch(self._run_id, metrics=batch)
