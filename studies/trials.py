"""Trials of a study: their lifecycle and the record the ledger keeps of each.

A trial is one mixture, trained and evaluated once (an *attempt*); a failed attempt may be
retried under the same trial index (a new attempt, a new MLflow run). Statuses follow Ax:
FAILED may be retried, ABANDONED never is, STOPPED_EARLY (Ax's EARLY_STOPPED) was stopped at a
checkpoint by the study's early-stopping rule: neither failed nor completed, never retried,
its checkpoint observations kept.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class TrialStatus(enum.StrEnum):
    """Where a trial attempt stands."""

    QUEUED = "queued"  # recorded, not yet handed to the launcher
    RUNNING = "running"  # handed to the launcher
    COMPLETED = "completed"  # finished with an objective value
    FAILED = "failed"  # crashed, hung, or wrote no result; may be retried
    ABANDONED = "abandoned"  # given up (retries spent, or by hand); never retried
    STOPPED_EARLY = "stopped_early"  # stopped at a checkpoint by the early-stopping rule

    @property
    def is_active(self) -> bool:
        return self in (TrialStatus.QUEUED, TrialStatus.RUNNING)


@dataclass(frozen=True)
class TrialRecord:
    """One attempt of one trial, as read back from the ledger.

    Attributes:
        index: trial index, 0-based, unique per mixture within the study.
        attempt: 0 for the first attempt, +1 for each retry.
        weights: domain name -> weight (sums to 1).
        status: see `TrialStatus`.
        metrics: metric name -> value (evaluation metrics and ``objective``; empty until the
            attempt completes).
        objective: the study's objective value (as configured: maximized or minimized), or None.
        run_id: the attempt's MLflow run id.
        seed: the seed the attempt trained with.
        reason: why the attempt failed or was abandoned ("" otherwise).
        handle: the launcher's JSON-serializable handle (empty until submitted).
        started_at, ended_at: Unix times in seconds, or None.
        source: "design" (initial design), "proposal" (acquisition), "confirmation"
            (the recommendation re-trained) or "warm-start" (read from another study).
        proxy: the name of the proxy (``search.proxies``) the attempt trained, "" for the
            target fidelity (every trial of a study without proxies).
        cost: its relative cost in target-run equivalents (1.0 for the target).
    """

    index: int
    attempt: int
    weights: Mapping[str, float]
    status: TrialStatus
    run_id: str
    seed: int
    metrics: Mapping[str, float] = field(default_factory=dict)
    objective: float | None = None
    reason: str = ""
    handle: Mapping[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    ended_at: float | None = None
    source: str = "design"
    failure_kind: str = ""
    proxy: str = ""
    cost: float = 1.0

    @property
    def is_target(self) -> bool:
        """A target-fidelity attempt (not a proxy's)."""
        return not self.proxy

    @property
    def failed_by_driver(self) -> bool:
        """The attempt failed because its driver stopped, not by its own fault."""
        return self.failure_kind == "driver"

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict (the shape of ``mixopt study status --json``'s trials)."""
        out: dict[str, Any] = {
            "index": self.index,
            "attempt": self.attempt,
            "status": self.status.value,
            "weights": dict(self.weights),
            "metrics": dict(self.metrics),
            "objective": self.objective,
            "seed": self.seed,
            "run_id": self.run_id,
            "reason": self.reason,
            "source": self.source,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }
        if self.proxy:  # studies without proxies keep their JSON as it was
            out["fidelity"], out["cost"] = self.proxy, self.cost
        return out


def latest_attempts(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """The last attempt of every trial index, ordered by index."""
    latest: dict[int, TrialRecord] = {}
    for record in records:
        seen = latest.get(record.index)
        if seen is None or record.attempt > seen.attempt:
            latest[record.index] = record
    return [latest[k] for k in sorted(latest)]


def completed(records: Iterable[TrialRecord]) -> list[TrialRecord]:
    """Completed target-fidelity attempts with an objective value, ordered by index (a
    proxy's values are on another scale: only the search policy's multi-fidelity model
    reads them, `studies.orchestrator`)."""
    return [
        r for r in latest_attempts(records)
        if r.status is TrialStatus.COMPLETED and r.objective is not None and r.is_target
    ]
