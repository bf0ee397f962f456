"""MLflow as the ledger of a study: one parent run per study, one child run per trial attempt.

Everything a driver needs to resume lives in the tracking store, read back with
``search_runs``: the study's parent run (tags ``mixopt.role=study``, ``mixopt.study=<name>``)
and its trials (``mlflow.parentRunId``, ``mixopt.trial_index``, ``mixopt.attempt``,
``mixopt.status``, ``mixopt.weights`` as exact JSON, the launcher handle, the failure reason;
params ``w.<domain>``, ``budget``, ``seed``; metrics from the evaluation and ``objective``).
All calls go through one `MlflowClient` with explicit run ids.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mixopt.errors import MixoptError
from studies.trials import TrialRecord, TrialStatus

ROLE = "mixopt.role"
STUDY = "mixopt.study"
INDEX = "mixopt.trial_index"
ATTEMPT = "mixopt.attempt"
STATUS = "mixopt.status"
WEIGHTS = "mixopt.weights"
HANDLE = "mixopt.handle"
REASON = "mixopt.reason"
FAILURE_KIND = "mixopt.failure_kind"
SOURCE = "mixopt.source"
SEED = "mixopt.seed"
STARTED = "mixopt.started_at"
ENDED = "mixopt.ended_at"
OBJECTIVE_METRIC = "objective"
PARENT = "mlflow.parentRunId"
_PAGE = 1000
_MLFLOW_STATUS = {
    TrialStatus.COMPLETED: "FINISHED",
    TrialStatus.FAILED: "FAILED",
    TrialStatus.ABANDONED: "KILLED",
}


class LedgerError(MixoptError):
    """The tracking store cannot be used, or holds something inconsistent."""


class Ledger:
    """The MLflow records of one study.

    Args:
        tracking_uri: MLflow tracking URI (a sqlite file, a server).
        experiment: the experiment holding the study (created if missing).
        study: the study's name.
    """

    def __init__(self, tracking_uri: str, experiment: str, study: str) -> None:
        self.tracking_uri, self.study = tracking_uri, study
        self.client = MlflowClient(tracking_uri=tracking_uri)
        try:
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = (
                found.experiment_id if found is not None
                else self.client.create_experiment(experiment)
            )
        except MlflowException as err:
            raise LedgerError(f"MLflow store {tracking_uri}: {err.message}") from None

    # -- the study's parent run ------------------------------------------------------------

    def find_study_run(self) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{ROLE}` = 'study' and tags.`{STUDY}` = '{self.study}'",
            max_results=2,
        )
        return runs[0].info.run_id if runs else None

    def study_run(self, params: Mapping[str, Any] | None = None) -> str:
        """The study's parent run id, created (with `params`) on the first call."""
        run_id = self.find_study_run()
        if run_id is not None:
            return run_id
        run = self.client.create_run(
            self.experiment_id, run_name=self.study,
            tags={ROLE: "study", STUDY: self.study},
        )
        for key, value in (params or {}).items():
            self.client.log_param(run.info.run_id, key, str(value)[:6000])
        return run.info.run_id

    def set_study_tags(self, parent: str, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(parent, key, str(value))

    def log_study_metrics(self, parent: str, metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items() if math.isfinite(v)]
        if batch:
            self.client.log_batch(parent, metrics=batch)

    def log_study_artifact(self, parent: str, path: str, artifact_path: str | None = None) -> None:
        self.client.log_artifact(parent, path, artifact_path)

    # -- trials ------------------------------------------------------------------------------

    def create_trial(
        self, parent: str, *, index: int, attempt: int, weights: Mapping[str, float],
        seed: int, source: str, params: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        """Record a new attempt (status queued) as a child run of `parent`."""
        name = f"trial-{index:03d}" + (f"-retry{attempt}" if attempt else "")
        tags = {
            PARENT: parent, ROLE: "trial", STUDY: self.study, INDEX: str(index),
            ATTEMPT: str(attempt), STATUS: TrialStatus.QUEUED.value,
            WEIGHTS: json.dumps(dict(weights)), SOURCE: source, SEED: str(seed),
        }
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        run_id = run.info.run_id
        logged = {f"w.{d}": str(float(w)) for d, w in weights.items()}
        logged.update({k: str(v) for k, v in (params or {}).items()})
        for key, value in logged.items():
            self.client.log_param(run_id, key, value)
        return TrialRecord(index=index, attempt=attempt, weights=dict(weights),
                           status=TrialStatus.QUEUED, run_id=run_id, seed=seed, source=source)

    def mark_running(self, run_id: str, handle: Mapping[str, Any]) -> None:
        self.client.set_tag(run_id, HANDLE, json.dumps(dict(handle)))
        self.client.set_tag(run_id, STARTED, repr(time.time()))
        self.client.set_tag(run_id, STATUS, TrialStatus.RUNNING.value)

    def mark_completed(self, run_id: str, metrics: Mapping[str, float], objective: float) -> None:
        now = int(time.time() * 1000)
        values = {**{k: float(v) for k, v in metrics.items()}, OBJECTIVE_METRIC: objective}
        batch = [Metric(k, v, now, 0) for k, v in values.items() if math.isfinite(v)]
        if batch:
            self.client.log_batch(run_id, metrics=batch)
        self._end(run_id, TrialStatus.COMPLETED, "")

    def mark_failed(self, run_id: str, reason: str, *, kind: str = "trial",
                    abandoned: bool = False) -> None:
        """`kind` is ``trial`` (counts against retries) or ``driver`` (the driver died)."""
        self.client.set_tag(run_id, FAILURE_KIND, kind)
        status = TrialStatus.ABANDONED if abandoned else TrialStatus.FAILED
        self._end(run_id, status, reason)

    def _end(self, run_id: str, status: TrialStatus, reason: str) -> None:
        if reason:
            self.client.set_tag(run_id, REASON, reason[:4000])
        self.client.set_tag(run_id, ENDED, repr(time.time()))
        self.client.set_tag(run_id, STATUS, status.value)
        try:
            self.client.set_terminated(run_id, status=_MLFLOW_STATUS[status])
        except MlflowException:
            pass  # a trainer may have ended the run itself; the tag above is what counts

    def log_artifacts(self, run_id: str, paths: Iterable[str]) -> None:
        for path in paths:
            self.client.log_artifact(run_id, path)

    def trials(self) -> list[TrialRecord]:
        """Every attempt of every trial of the study, ordered by (index, attempt)."""
        records = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.`{ROLE}` = 'trial' and tags.`{STUDY}` = '{self.study}'",
                max_results=_PAGE, page_token=token,
            )
            records.extend(_record(run) for run in page)
            token = page.token
            if not token:
                break
        return sorted(records, key=lambda r: (r.index, r.attempt))


def _record(run: Any) -> TrialRecord:
    tags = run.data.tags
    try:
        status = TrialStatus(tags[STATUS])
        metrics = dict(run.data.metrics)
        objective = metrics.pop(OBJECTIVE_METRIC, None)
        handle = json.loads(tags[HANDLE]) if HANDLE in tags else {}
        return TrialRecord(
            index=int(tags[INDEX]), attempt=int(tags[ATTEMPT]),
            weights=json.loads(tags[WEIGHTS]), status=status, run_id=run.info.run_id,
            seed=int(tags.get(SEED, 0)), metrics=metrics,
            objective=objective if status is TrialStatus.COMPLETED else None,
            reason=tags.get(REASON, ""), handle=handle,
            started_at=float(tags[STARTED]) if STARTED in tags else None,
            ended_at=float(tags[ENDED]) if ENDED in tags else None,
            source=tags.get(SOURCE, "design"), failure_kind=tags.get(FAILURE_KIND, ""),
        )
    except (KeyError, ValueError, json.JSONDecodeError) as err:
        raise LedgerError(
            f"MLflow run {run.info.run_id} of study {tags.get(STUDY)!r} has a corrupt trial "
            f"record ({type(err).__name__}: {err}); fix or delete that run"
        ) from None
