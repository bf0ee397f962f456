"""What the ledger writes into MLflow runs (tag, param and metric names) and how a trial
attempt is read back from a run's tags and metrics, without importing MLflow.

`studies.ledger` writes and reads these through `MlflowClient`; `studies.store_reader` reads
them straight from a sqlite store (what `study status` does, in a fraction of MLflow's import
time). Both decode a trial with `trial_record`, so they cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

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
# A proxy trial's fidelity (the proxy's name; absent: the target) and its relative cost.
FIDELITY = "mixopt.fidelity"
COST = "mixopt.cost"
OBJECTIVE_METRIC = "objective"
PARENT = "mlflow.parentRunId"
# MLflow 3's UI opens experiments of this kind on the runs table, others on GenAI traces.
EXPERIMENT_KIND = "mlflow.experimentKind"
CLASSIC_TRAINING = "custom_model_development"
# The parent run's tag with the study's last recommendation (JSON; studies.orchestrator).
RECOMMENDATION_TAG = "mixopt.recommendation"


class LedgerError(MixoptError):
    """The tracking store cannot be used, or holds something inconsistent."""


def trial_record(run_id: str, tags: Mapping[str, str], metrics: Mapping[str, float]
                 ) -> TrialRecord:
    """The trial attempt recorded in the run `run_id` with these tags and (latest) metrics.

    Raises:
        LedgerError: a tag the ledger writes is missing or unreadable (one line naming the run).
    """
    try:
        status = TrialStatus(tags[STATUS])
        metrics = dict(metrics)
        objective = metrics.pop(OBJECTIVE_METRIC, None)
        handle = json.loads(tags[HANDLE]) if HANDLE in tags else {}
        return TrialRecord(
            index=int(tags[INDEX]), attempt=int(tags[ATTEMPT]),
            weights=json.loads(tags[WEIGHTS]), status=status, run_id=run_id,
            seed=int(tags.get(SEED, 0)), metrics=metrics,
            objective=objective if status is TrialStatus.COMPLETED else None,
            reason=tags.get(REASON, ""), handle=handle,
            started_at=float(tags[STARTED]) if STARTED in tags else None,
            ended_at=float(tags[ENDED]) if ENDED in tags else None,
            source=tags.get(SOURCE, "design"), failure_kind=tags.get(FAILURE_KIND, ""),
            proxy=tags.get(FIDELITY, ""), cost=float(tags.get(COST, 1.0)),
        )
    except (KeyError, ValueError, json.JSONDecodeError) as err:
        raise LedgerError(
            f"MLflow run {run_id} of study {tags.get(STUDY)!r} has a corrupt trial "
            f"record ({type(err).__name__}: {err}); fix or delete that run"
        ) from None
