"""Checkpoints of running trials, and early stopping at them, for the study driver.

`CheckpointWatch.sync` is called for every running trial each time the driver polls: it reads
the attempt's ``checkpoints.json`` (`studies.checkpoints`), logs the checkpoints not yet on the
attempt's MLflow run, and, at a new checkpoint short of the full budget, asks the configured
rule (`mixopt.early_stopping`: ``percentile`` or ``predictive``) whether to stop the trial.
The rule sees the curves of every trial of the study as read back from the ledger (the trial's
own included; warm-start trials of other studies are not in it). A stopped trial is recorded
with status ``stopped_early`` (`mark_stopped_early`): the rule's sentence is its reason, the
rule's numbers are the tag ``mixopt.early_stop`` (JSON), and the attempt folder gets
``stopped.json`` (``{"schema_version": 1, "run_id", "reason", "numbers"}``) so that a store
rebuilt from the folders (`recover_attempt`) knows the stop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mixopt.early_stopping import StopDecision, TrialCurve
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.policy import FULL_FIDELITY
from rlvr.atomic_write import write_text_atomic
from studies.checkpoints import (
    Checkpoint,
    CheckpointFileError,
    log_checkpoint,
    logged_steps,
    read_checkpoints,
)
from studies.config import StudyConfig
from studies.fidelity import checkpoint_value, metric_names, trial_checkpoints
from studies.ledger import ENDED, REASON, STATUS, Ledger
from studies.trials import TrialRecord, TrialStatus, latest_attempts

EARLY_STOP_TAG = "mixopt.early_stop"
STOPPED_FILE = "stopped.json"
SCHEMA_VERSION = 1


class CheckpointWatch:
    """Logs the checkpoints of running trials and applies the early-stopping rule.

    Args:
        config: the study (with ``search.fidelity``).
        ledger: its records.
        trial_dir: the attempt folder of a trial record.
        space: the study's mixture space (the predictive rule's model).
    """

    def __init__(self, config: StudyConfig, ledger: Ledger,
                 trial_dir: Callable[[TrialRecord], Path], space: MixtureSpace) -> None:
        self.config, self.ledger, self.trial_dir, self.space = config, ledger, trial_dir, space
        settings = config.search.early_stopping
        self.rule = None if settings is None else settings.build(config.eval.objective.maximize)
        self._logged: dict[str, set[int]] = {}
        self.problems: list[str] = []  # sentences for the driver's log (bad files)

    def sync(self, record: TrialRecord, *, decide: bool) -> tuple[int, StopDecision | None]:
        """Log the attempt's new checkpoints. Returns how many checkpoints its file holds
        and, with `decide`, the rule's decision to stop at the latest new one short of the
        full budget (None: go on, or nothing new)."""
        try:
            found = read_checkpoints(self.trial_dir(record), record.run_id)
        except CheckpointFileError as err:
            self.problems.append(str(err))
            return 0, None
        logged = self._logged.get(record.run_id)
        if logged is None:  # first look at this attempt (a resumed driver): what is logged
            logged = self._logged[record.run_id] = logged_steps(self.ledger.client,
                                                                record.run_id)
        fresh = [c for c in found if c.step not in logged]
        for c in fresh:
            log_checkpoint(self.ledger.client, record.run_id, c,
                           checkpoint_value(self.config, c))
            logged.add(c.step)
        if not fresh or not decide or self.rule is None \
                or fresh[-1].fraction >= FULL_FIDELITY:
            return len(found), None
        decision = self.decide(record)
        return len(found), decision if decision.stop else None

    def decide(self, record: TrialRecord) -> StopDecision:
        """The rule's decision on `record`'s trial, from the study's curves in the ledger."""
        if self.rule is None:
            raise MixoptError("no early-stopping rule configured")
        curves = study_curves(self.config, self.ledger)
        trial = curves.pop(record.index, None)
        if trial is None:
            return StopDecision(False, self.config.search.early_stopping.rule,
                                "no checkpoint value yet", {"progression": 0.0})
        others = list(curves.values())
        if self.config.search.early_stopping.rule == "predictive":
            return self.rule.decide(trial, others, space=self.space)
        return self.rule.decide(trial, others)

    def log_final(self, record: TrialRecord, metrics: Mapping[str, float],
                  objective: float) -> None:
        """Log the completed trial's result as its checkpoint at the full budget (the last
        point of its ``checkpoint.*`` curves), once."""
        logged = self._logged.get(record.run_id)
        if logged is None:
            logged = self._logged[record.run_id] = logged_steps(self.ledger.client,
                                                                record.run_id)
        final = Checkpoint(FULL_FIDELITY, dict(metrics))
        if final.step not in logged:
            log_checkpoint(self.ledger.client, record.run_id, final, objective)
            logged.add(final.step)


def study_curves(config: StudyConfig, ledger: Ledger) -> dict[int, TrialCurve]:
    """Per trial index, its curve of primary-objective values: the checkpoints of its
    attempts (`studies.fidelity.trial_checkpoints`), plus the full-budget value of a completed
    trial. Trials with no value yet are left out."""
    trials = ledger.trials()
    found = trial_checkpoints(ledger.client, trials, metric_names(config))
    domains = config.domain_names
    curves = {}
    for r in latest_attempts(trials):
        points = [(c.fraction, checkpoint_value(config, c)) for c in found.get(r.index, [])]
        points = [(f, v) for f, v in points if v is not None]
        done = r.status is TrialStatus.COMPLETED and r.objective is not None
        if done:
            points.append((FULL_FIDELITY, float(r.objective)))
        if not points:
            continue
        curves[r.index] = TrialCurve(
            x=[r.weights.get(d, 0.0) for d in domains], fractions=tuple(f for f, _ in points),
            values=tuple(v for _, v in points), completed=done)
    return curves


def stop_reason(decision: StopDecision) -> str:
    """The stopped trial's reason: the rule's name and sentence."""
    return f"stopped early by the {decision.rule} rule: {decision.reason}"


def mark_stopped_early(ledger: Ledger, run_id: str, decision: StopDecision,
                       trial_dir: Path | None = None) -> None:
    """Record the attempt as stopped early: first ``stopped.json`` in its folder (when given:
    what `studies.recover` rebuilds the stop from), then in the ledger the reason, the rule's
    numbers (tag ``mixopt.early_stop``), end time and status; the MLflow run ends KILLED
    (stopped before its budget, by the driver)."""
    numbers: dict[str, Any] = {"rule": decision.rule, **dict(decision.numbers)}
    reason = stop_reason(decision)
    if trial_dir is not None and trial_dir.is_dir():
        content = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "reason": reason,
                   "numbers": numbers, "written_at": time.time()}
        write_text_atomic(trial_dir / STOPPED_FILE, json.dumps(content, indent=2) + "\n")
    _mark(ledger, run_id, reason, numbers)


def _mark(ledger: Ledger, run_id: str, reason: str, numbers: Mapping[str, Any]) -> None:
    client = ledger.client
    client.set_tag(run_id, EARLY_STOP_TAG, json.dumps(dict(numbers))[:4000])
    client.set_tag(run_id, REASON, reason[:4000])
    client.set_tag(run_id, ENDED, repr(time.time()))
    client.set_tag(run_id, STATUS, TrialStatus.STOPPED_EARLY.value)
    client.set_terminated(run_id, status="KILLED")


def read_stop(trial_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The attempt's ``stopped.json`` (``reason``, ``numbers``, ``written_at``) when it is a
    version-1 record of run `run_id`; else None."""
    try:
        data = json.loads((Path(trial_dir) / STOPPED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION \
            or data.get("run_id") != run_id or not isinstance(data.get("numbers"), dict):
        return None
    return data


def recover_attempt(ledger: Ledger, config: StudyConfig, run_id: str, trial_dir: Path,
                    old_run_id: str) -> bool:
    """Rebuild what an attempt folder says of checkpoints and early stopping on the new run
    `run_id` of a recovered attempt (`studies.recover`): its ``checkpoints.json`` logged as
    the driver logs it, and, if ``stopped.json`` says so, the stop. Returns whether the
    attempt was stopped early (then it is recorded so)."""
    try:
        found = read_checkpoints(trial_dir, old_run_id)
    except CheckpointFileError:
        found = []
    logged = logged_steps(ledger.client, run_id) if found else set()
    for c in found:  # once each, also in a run an interrupted recovery left
        if c.step not in logged:
            log_checkpoint(ledger.client, run_id, c, checkpoint_value(config, c))
    stop = read_stop(trial_dir, old_run_id)
    if stop is None:
        return False
    _mark(ledger, run_id, str(stop.get("reason", "stopped early")), stop["numbers"])
    if isinstance(stop.get("written_at"), int | float):
        ledger.client.set_tag(run_id, ENDED, repr(float(stop["written_at"])))
    return True
