"""The closed loop of a study: design, launch, record, refit, propose ... recommend.

The driver keeps no state of its own that matters: every decision is made from what is read
back from the ledger (MLflow), so a driver killed at any moment is resumed by running it again.
A new trial is written to the ledger (queued) before it is launched, and its launcher handle
right after, so a restarted driver finds every trial: completed ones are never re-run, running
ones are polled again through their handle (or, if their process died with the driver,
failed as ``driver`` failures and retried without counting against ``max_retries``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mixopt.mixture import Mixture
from mixopt.policy import (
    FittedPolicy,
    History,
    Observation,
    PolicySettings,
    ProposalKind,
    SearchPolicy,
    Stopping,
)
from mixopt.pool import CandidatePool
from studies.analysis import Predicted, view_of
from studies.config import StudyConfig
from studies.launchers.base import Launcher, Poll, TrialSpec
from studies.ledger import Ledger, LedgerError
from studies.ledger_schema import RECOMMENDATION_TAG
from studies.lock import StudyLock
from studies.trials import TrialRecord, TrialStatus, completed, latest_attempts

RECOMMENDATION_FILE = "recommendation.json"
IDLE_ROUNDS_TAG = "mixopt.idle_rounds"
RECOMMENDATION_RULE_TAG = "mixopt.recommendation_rule"
# A trial's `source` (ledger tag, `study status`) by the kind of proposal that made it; the
# acquisition's choice keeps the name studies have always recorded.
SOURCES: dict[ProposalKind, str] = {
    "design": "design", "acquisition": "proposal", "explore": "explore",
    "replicate": "replicate",
}


@dataclass(frozen=True)
class StudyProgress:
    """A snapshot for a progress display."""

    trials_done: int
    trials_total: int
    running: tuple[int, ...]
    best: float | None
    best_index: int | None
    message: str = ""
    # With proxies the budget is in target-run equivalents: the cost of the ended trials.
    cost_done: float | None = None


@dataclass
class StudyOutcome:
    """What `Orchestrator.run` ends with."""

    trials: list[TrialRecord]
    recommendation: Predicted | None
    best_observed: TrialRecord | None
    stopped_early: bool = False
    notes: list[str] = field(default_factory=list)


def policy_settings(config: StudyConfig) -> PolicySettings:
    """The search policy's settings of a study config (`mixopt.policy`).

    Raises:
        MixoptError: settings the policy refuses (the config's own checks catch them first).
    """
    search = config.search
    stopping = None if search.stopping is None else Stopping(
        ei_below=search.stopping.ei_below, rounds=search.stopping.rounds)
    return PolicySettings(
        space=view_of(config, [], None).space, design=search.initial_design.kind,
        n_init=search.initial_design.n, surrogate=search.surrogate.name,
        surrogate_options=dict(search.surrogate.options),
        maximize=tuple(o.maximize for o in config.objectives), seed=search.seed,
        batch_size=search.batch_size, noise_sd=search.noise_sd, stopping=stopping,
        multi_fidelity=search.fidelity.kernel if search.fidelity is not None
        else search.proxies.kernel if search.proxies is not None else None,
        min_target_runs=0 if search.proxies is None else search.proxies.min_target_runs)


def spent_cost(trials: list[TrialRecord]) -> float:
    """The cost of a study's trials in target-run equivalents: each trial (its latest
    attempt) at its fidelity's cost, whatever its status (retries are not counted again, as
    `max_trials` counts trials)."""
    return float(math.fsum(r.cost for r in latest_attempts(trials) if r.index >= 0))


class Orchestrator:
    """Runs a study to its end (or resumes it).

    Args:
        config: the study.
        launcher: runs the trials.
        ledger: the study's MLflow records.
        prepare_trial: writes what a trial needs into its folder before launch (job files);
            None for launchers that need none.
        on_progress: called with a `StudyProgress` after every change.
        poll_interval_s: pause between polls of running trials when nothing changed.
    """

    def __init__(
        self, config: StudyConfig, launcher: Launcher, ledger: Ledger, *,
        prepare_trial: Callable[[StudyConfig, TrialSpec], None] | None = None,
        on_progress: Callable[[StudyProgress], None] | None = None,
        poll_interval_s: float = 1.0,
        warm_start: list[TrialRecord] | None = None,
    ) -> None:
        self.config, self.launcher, self.ledger = config, launcher, ledger
        # Completed trials of earlier studies (negative indices): fitted, never re-run.
        self.warm_start = list(warm_start or [])
        self.prepare_trial = prepare_trial
        self.on_progress = on_progress or (lambda progress: None)
        self.poll_interval_s = poll_interval_s
        self.parent = ""
        self._active: dict[str, tuple[TrialRecord, dict[str, Any], float]] = {}
        self._stopped = False
        self._watch = None  # checkpoints and early stopping (`studies.early_stop`)
        if config.search.fidelity is not None:
            from studies.early_stop import CheckpointWatch

            self._watch = CheckpointWatch(config, ledger, self._trial_dir,
                                          view_of(config, [], None).space)

    # -- the loop ----------------------------------------------------------------------------

    def run(self, *, max_trials: int | None = None, lock: StudyLock | None = None) -> StudyOutcome:
        """Run (or continue) the study until `max_trials` trials (default: the config's) have
        ended or the stopping rule fires; then recommend (and confirm, if configured)."""
        limit = max_trials if max_trials is not None else self.config.search.max_trials
        self.parent = self.ledger.study_run(params=self._study_params())
        self.ledger.mark_study_running(self.parent)
        ended = "FAILED"  # the parent run's end unless the loop finishes or is interrupted
        try:
            self._log_config_once()
            self._reattach()
            while True:
                changed = self._collect()
                changed |= self._fill(limit)
                if not self._active:
                    break
                self._report()
                if lock is not None:
                    lock.renew()
                if not changed:
                    time.sleep(self.poll_interval_s)
            outcome = self._finish()
            ended = "FINISHED"
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (`studies.stop_signals`)
            ended = "KILLED"
            raise
        finally:
            self.launcher.close()
            self._end_parent(ended)
        return outcome

    def _end_parent(self, status: str) -> None:
        """End the parent run; a store that fails now must not hide why the driver stopped."""
        if status == "FINISHED":
            self.ledger.end_study(self.parent, status)
            return
        try:
            self.ledger.end_study(self.parent, status)
        except LedgerError:
            pass  # the store fails too: the error already on its way says why; RUNNING stays

    def _study_params(self) -> dict[str, Any]:
        c = self.config
        return {
            "domains": ",".join(c.domain_names), "surrogate": c.search.surrogate.name,
            "objective": c.eval.objective.label, "direction": c.eval.objective.direction,
            "batch_size": c.search.batch_size, "parallelism": c.search.parallelism,
            "max_trials": c.search.max_trials, "launcher": c.launcher.kind,
            "initial_design": c.search.initial_design.kind, "seed": c.search.seed,
            "bounds": json.dumps({k: list(v) for k, v in c.search.bounds.items()}),
            "surrogate_options": json.dumps(c.search.surrogate.options),
            # Read back by a study opened by name (`studies.opening.view_from_parent`).
            **({} if c.search.proxies is None else {"proxies": json.dumps({
                "kernel": c.search.proxies.kernel,
                "costs": {p.name: p.cost for p in c.search.proxies.levels}})}),
        }

    def _log_config_once(self) -> None:
        run = self.ledger.client.get_run(self.parent)
        if "mixopt.config_logged" in run.data.tags:
            return
        study_dir = self.config.study_dir
        study_dir.mkdir(parents=True, exist_ok=True)
        path = study_dir / "study.json"
        path.write_text(self.config.model_dump_json(indent=2), encoding="utf-8")
        self.ledger.log_study_artifact(self.parent, str(path))
        self.ledger.set_study_tags(self.parent, {"mixopt.config_logged": "1"})

    def _reattach(self) -> None:
        """Adopt the running trials of an earlier driver, submit queued ones."""
        for record in latest_attempts(self.ledger.trials()):
            if record.status is TrialStatus.RUNNING:
                self._active[record.run_id] = (record, dict(record.handle),
                                               record.started_at or time.time())
            elif record.status is TrialStatus.QUEUED:
                self._launch(record)

    def _collect(self) -> bool:
        """Poll running trials; record the ones that ended. Returns whether any did."""
        changed = False
        timeout = self.config.search.trial_timeout_s
        for run_id, (record, handle, started) in list(self._active.items()):
            poll = self.launcher.poll(handle)
            if poll.state == "running" and timeout is not None \
                    and time.time() - started > timeout:
                self.launcher.cancel(handle)
                poll = Poll("failed", reason=f"timed out after {timeout:g} s")
            if self._watch is not None and self._checkpoints(record, handle, poll):
                changed = True
                continue
            if poll.state == "running":
                continue
            del self._active[run_id]
            changed = True
            self._record_end(record, poll)
        return changed

    def _checkpoints(self, record: TrialRecord, handle: dict[str, Any], poll: Poll) -> bool:
        """Log the trial's new checkpoints; stop it if the early-stopping rule says so at
        the latest (only while it runs). Returns whether it was stopped."""
        from studies.early_stop import mark_stopped_early, stop_reason

        seen, decision = self._watch.sync(record, decide=poll.state == "running")
        for problem in self._watch.problems:
            self._message(f"trial {record.index}: {problem}")
        self._watch.problems.clear()
        if decision is not None:
            self.launcher.cancel(handle)
            del self._active[record.run_id]
            mark_stopped_early(self.ledger, record.run_id, decision, self._trial_dir(record))
            self._log_artifacts(record)
            self._message(f"trial {record.index} {stop_reason(decision)}")
            return True
        seen_by = getattr(self.launcher, "checkpoints_seen", None)
        if seen_by is not None and seen:
            seen_by(handle, seen)
        return False

    def _record_end(self, record: TrialRecord, poll: Poll) -> None:
        objective = self.config.eval.objective
        if poll.state == "completed":
            try:
                value = objective.value(dict(poll.metrics))
            except (KeyError, ValueError) as err:
                poll = Poll("failed", reason=f"no objective: {str(err).strip(chr(34))}")
            else:
                self.ledger.mark_completed(record.run_id, poll.metrics, value)
                if self._watch is not None:  # the full run closes the curve of checkpoints
                    self._watch.log_final(record, poll.metrics, value)
                self._log_artifacts(record)
                self._log_best()
                return
        driver = poll.state == "lost"
        failures = sum(
            1 for r in self.ledger.trials()
            if r.index == record.index and r.status is not TrialStatus.COMPLETED
            and not r.failed_by_driver and r.run_id != record.run_id
        ) + (0 if driver else 1)
        give_up = not driver and failures > self.config.search.max_retries
        reason = poll.reason + ("; no retries left" if give_up else "")
        self.ledger.mark_failed(record.run_id, reason, kind="driver" if driver else "trial",
                                abandoned=give_up)
        self._log_artifacts(record)
        self._message(f"trial {record.index} attempt {record.attempt} failed: {reason}")

    def _log_artifacts(self, record: TrialRecord) -> None:
        trial_dir = self._trial_dir(record)
        files = [trial_dir / n for n in ("job.yaml", "trial.json", "eval.json", "outcome.json",
                                         "checkpoints.json", "stopped.json")]
        self.ledger.log_artifacts(record.run_id, [str(f) for f in files if f.is_file()])

    def _fill(self, limit: int) -> bool:
        """Launch retries and new trials into free slots. Returns whether it launched any."""
        capacity = self.config.search.parallelism
        if self.launcher.capacity is not None:
            capacity = min(capacity, self.launcher.capacity)
        launched = False
        records = self.ledger.trials()
        latest = latest_attempts(records)
        for record in latest:  # failed (not abandoned) trials get a new attempt first
            if len(self._active) >= capacity:
                return launched
            if record.status is TrialStatus.FAILED:
                self._launch(self.ledger.create_trial(
                    self.parent, index=record.index, attempt=record.attempt + 1,
                    weights=record.weights, seed=record.seed, source=record.source,
                    proxy=record.proxy, cost=record.cost))
                launched = True
        n_trials = len(latest)
        left = None  # with proxies: the budget left, in target-run equivalents
        if self.config.search.proxies is None:
            free = min(capacity - len(self._active), limit - n_trials)
        else:
            left = limit - spent_cost(latest)
            free = capacity - len(self._active) if left >= self._cheapest() - 1e-9 else 0
        if free <= 0 or self._stopped:
            return launched
        for weights, source, proxy in self._next_trials(latest, free, left):
            record = self.ledger.create_trial(
                self.parent, index=n_trials, attempt=0, weights=weights,
                seed=self._trial_seed(), source=source, params=self._trial_params(proxy),
                proxy=proxy, cost=self.config.proxy_cost(proxy) or 1.0)
            n_trials += 1
            self._launch(record)
            launched = True
        return launched

    def _cheapest(self) -> float:
        """The cost of the study's cheapest trial (target-run equivalents)."""
        proxies = self.config.search.proxies
        return 1.0 if proxies is None else min(float(p.cost) for p in proxies.levels)

    def _trial_seed(self) -> int:
        train = self.config.train
        return train.seed if train is not None else self.config.search.seed

    def _trial_params(self, proxy: str = "") -> dict[str, Any]:
        train = self.config.train
        if train is not None and proxy:
            train = self.config.proxy_train(proxy)
        return {} if train is None else {"budget": train.budget, "seed": train.seed}

    def _next_mixtures(
        self, latest: list[TrialRecord], k: int
    ) -> list[tuple[dict[str, float], str]]:
        """Up to `k` new mixtures and their sources (`_next_trials` without the proxies)."""
        return [(weights, source) for weights, source, _ in self._next_trials(latest, k)]

    def _next_trials(
        self, latest: list[TrialRecord], k: int, left: float | None = None,
    ) -> list[tuple[dict[str, float], str, str]]:
        """Up to `k` new mixtures, their sources and proxies ("": the target), as the search
        policy asks for them given the ledger (the rest of the initial design, then
        proposals; fewer while it waits). With proxies, `left` is the budget left: the
        proposals cost no more in all, and only fidelities within it are offered."""
        tags = self.ledger.client.get_run(self.parent).data.tags
        idle = int(tags.get(IDLE_ROUNDS_TAG, "0"))
        history = self._history(latest + self.warm_start)
        ask = self._policy().ask(history, k, idle_rounds=idle,
                                 pool=self._pool(latest, affordable=left), max_cost=left)
        for note in ask.notes:
            self._message(note)
        step = len(history.full_fidelity())
        if ask.expected_improvement is not None:
            self.ledger.log_study_metrics(
                self.parent, {"expected_improvement": ask.expected_improvement}, step)
        if ask.idle_rounds != idle:
            self.ledger.set_study_tags(self.parent, {IDLE_ROUNDS_TAG: ask.idle_rounds})
        if ask.stop:
            self._stopped = True
        elif ask.fitted is not None:
            self._log_diagnostics(ask.fitted, step)
        return [(self._weights(p.x), SOURCES[p.kind], self._proxy_at(p.fidelity))
                for p in ask.proposals]

    def _proxy_at(self, fidelity: float) -> str:
        """The proxy whose fidelity (its cost) this is; "" for the target (and without
        proxies: checkpoint fidelity proposes target runs only)."""
        proxies = self.config.search.proxies
        if proxies is None or fidelity >= 1.0:
            return ""
        return min(proxies.levels, key=lambda p: abs(float(p.cost) - fidelity)).name

    def _log_diagnostics(self, fitted: FittedPolicy, step: int) -> None:
        """The policy's surrogate's leave-one-out metrics on the parent run."""
        diag = fitted.loo()
        if diag is None:
            return
        metrics = {"loo_rmse": diag.rmse, "loo_baseline_rmse": diag.mean_baseline_rmse,
                   "loo_coverage90": diag.coverage90}
        if not math.isnan(diag.spearman):
            metrics["loo_spearman"] = diag.spearman
        self.ledger.log_study_metrics(self.parent, metrics, step)

    def _weights(self, x: np.ndarray) -> dict[str, float]:
        """The policy's mixture by domain, exactly as proposed unless it is off the simplex by
        more than rounding (rescaling changes the last bits, so the next fit would see other
        data than the bench path feeds the same policy)."""
        x = np.clip(x, 0.0, None)
        on_simplex = abs(float(x.sum()) - 1.0) <= 1e-12
        return Mixture.from_vector(x, self.config.domain_names,
                                   normalize=not on_simplex).to_dict()

    def _trial_dir(self, record: TrialRecord) -> Path:
        return self.config.study_dir / "trials" / f"{record.index:03d}-a{record.attempt}"

    def _launch(self, record: TrialRecord) -> None:
        trial_dir = self._trial_dir(record)
        trial_dir.mkdir(parents=True, exist_ok=True)
        spec = TrialSpec(study=self.config.name, index=record.index, attempt=record.attempt,
                         weights=dict(record.weights), seed=record.seed, run_id=record.run_id,
                         trial_dir=str(trial_dir.absolute()), proxy=record.proxy)
        try:
            if self.prepare_trial is not None:
                self.prepare_trial(self.config, spec)
            handle = self.launcher.submit(spec)
        except Exception as err:  # a trial that cannot even start fails alone
            self._record_end(record, Poll("failed", reason=f"could not launch: "
                                          f"{type(err).__name__}: {err}"))
            return
        self.ledger.mark_running(record.run_id, handle)
        self._active[record.run_id] = (record, handle, time.time())
        at = f", proxy {record.proxy}" if record.proxy else ""
        self._message(f"trial {record.index} started ({record.source}{at}): "
                      + ", ".join(f"{d}={w:.3f}" for d, w in record.weights.items()))

    # -- reporting ----------------------------------------------------------------------------

    def _log_best(self) -> None:
        trials = self.ledger.trials()
        view = view_of(self.config, trials, self.parent)
        best = view.best_observed()
        done = completed(view.trials)
        if best is not None and best.objective is not None:
            self.ledger.log_study_metrics(self.parent, {"best_objective": best.objective},
                                          len(done))
        self._report(trials=trials)

    def _report(self, message: str = "", trials: list[TrialRecord] | None = None) -> None:
        """Progress for the display; `trials` as just read from the ledger, or read here."""
        view = view_of(self.config, self.ledger.trials() if trials is None else trials,
                       self.parent)
        best = view.best_observed()
        ended = [r for r in latest_attempts(view.trials) if r.status in (
            TrialStatus.COMPLETED, TrialStatus.ABANDONED, TrialStatus.STOPPED_EARLY)]
        self.on_progress(StudyProgress(
            trials_done=len(ended), trials_total=self.config.search.max_trials,
            running=tuple(sorted(r.index for r, _, _ in self._active.values())),
            best=None if best is None else best.objective,
            best_index=None if best is None else best.index, message=message,
            cost_done=None if self.config.search.proxies is None
            else round(spent_cost(ended), 3)))

    def _message(self, text: str) -> None:
        self._report(text)

    def _finish(self) -> StudyOutcome:
        trials = self.ledger.trials()
        view = view_of(self.config, trials, self.parent)
        outcome = StudyOutcome(trials=trials, recommendation=None,
                               best_observed=view.best_observed(), stopped_early=self._stopped)
        rec = self._policy().recommend(self._history(trials + self.warm_start),
                                       pool=self._pool(trials + self.warm_start))
        if rec is None:
            outcome.notes.append("no recommendation: no trial has completed")
        else:
            outcome.recommendation = Predicted(rec.mixture, rec.mean, rec.std, rule=rec.rule,
                                               reason=rec.reason)
            if rec.rule == "best-observed":
                outcome.notes.append(f"recommending the best observed mixture: {rec.reason}")
        if outcome.recommendation is not None and self.config.search.confirm:
            self._confirm(outcome.recommendation)
            outcome.trials = self.ledger.trials()
        self._write_recommendation(outcome)
        return outcome

    def _policy(self) -> SearchPolicy:
        """The search policy of the config (`mixopt.policy`)."""
        return SearchPolicy(policy_settings(self.config))

    def _pool(self, trials: list[TrialRecord], *, affordable: float | None = None) \
            -> CandidatePool | None:
        """With checkpoint fidelity, the target-fidelity candidates the multi-fidelity policy
        proposes and recommends from (`studies.fidelity.candidate_pool`); with proxies, the
        same mixtures at each proxy's fidelity too (those costing at most `affordable`,
        when given: the budget left); else None."""
        search = self.config.search
        if search.fidelity is None and search.proxies is None:
            return None
        from studies.fidelity import candidate_pool
        from studies.proxies import with_proxies

        domains = self.config.domain_names
        tried = np.array([[r.weights.get(d, 0.0) for d in domains] for r in trials],
                         dtype=float).reshape(-1, len(domains))
        policy = self._policy()
        pool = candidate_pool(policy.settings.space, policy.design, tried, search.seed)
        if search.proxies is None:
            return pool
        costs = [float(p.cost) for p in search.proxies.levels]
        return with_proxies(pool, costs, affordable)

    def _history(self, trials: list[TrialRecord]) -> History:
        """What the ledger tells the policy: completed trials as observations (warm-start
        ones, of negative index, marked so), the mixtures of queued, running and failed (to
        be retried) trials as pending, abandoned and stopped-early ones as abandoned; with
        checkpoint fidelity also every checkpoint (`studies.fidelity`)."""
        domains = self.config.domain_names

        def vector(r: TrialRecord) -> np.ndarray:
            return np.array([r.weights.get(d, 0.0) for d in domains], dtype=float)

        observations, pending, abandoned, pending_s = [], [], [], []
        proxies = self.config.search.proxies is not None
        for r in latest_attempts(trials):
            # A proxy trial's fidelity is its proxy's cost (read back from its ledger tag); a
            # proxy this config does not declare (a warm start's) is not fitted.
            fidelity = self.config.proxy_cost(r.proxy) if proxies else 1.0
            if fidelity is None:
                continue
            if r.status is TrialStatus.COMPLETED:
                try:
                    values = tuple(o.value(dict(r.metrics)) for o in self.config.objectives)
                except (KeyError, ValueError):  # no objective: never fitted, never repeated
                    if r.is_target:
                        abandoned.append(vector(r))
                    continue
                observations.append(Observation(vector(r), values, fidelity=fidelity,
                                                cost=fidelity, warm_start=r.index < 0))
            elif r.status in (TrialStatus.ABANDONED, TrialStatus.STOPPED_EARLY):
                if r.is_target:  # a mixture whose proxy failed may still be tried
                    abandoned.append(vector(r))
            else:
                pending.append(vector(r))
                pending_s.append(fidelity)
        if self._watch is not None:
            from studies.fidelity import (
                checkpoint_observations,
                metric_names,
                trial_checkpoints,
            )

            found = trial_checkpoints(self.ledger.client, [r for r in trials if r.index >= 0],
                                      metric_names(self.config))
            observations += checkpoint_observations(
                self.config, {r.index: vector(r) for r in latest_attempts(trials)}, found)
        return History(tuple(observations), pending=np.array(pending).reshape(-1, len(domains)),
                       abandoned=np.array(abandoned).reshape(-1, len(domains)),
                       pending_fidelity=np.array(pending_s) if proxies else None)

    def _confirm(self, rec: Predicted) -> None:
        latest = latest_attempts(self.ledger.trials())
        if any(r.source == "confirmation" for r in latest):
            return
        record = self.ledger.create_trial(
            self.parent, index=len(latest), attempt=0, weights=rec.mixture.to_dict(),
            seed=self._trial_seed(), source="confirmation", params=self._trial_params())
        self._message("confirmation trial of the recommended mixture")
        self._launch(record)
        while self._active:
            if not self._collect():
                time.sleep(self.poll_interval_s)

    def _write_recommendation(self, outcome: StudyOutcome) -> None:
        best = outcome.best_observed
        content = {
            "schema_version": 1, "study": self.config.name,
            "objective": self.config.eval.objective.label,
            "direction": self.config.eval.objective.direction,
            "recommendation": None if outcome.recommendation is None
            else outcome.recommendation.to_json(),
            "best_observed": None if best is None else best.to_json(),
            "notes": outcome.notes,
        }
        text = json.dumps(content, indent=2)
        path = self.config.study_dir / RECOMMENDATION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        self.ledger.log_study_artifact(self.parent, str(path))
        if outcome.recommendation is not None:
            self.ledger.set_study_tags(self.parent, {
                RECOMMENDATION_TAG: json.dumps(outcome.recommendation.to_json())[:4000],
                RECOMMENDATION_RULE_TAG: outcome.recommendation.rule})
