"""One policy: the study path (orchestrator + ledger) and the bench path (`mixopt.bench`'s
strategy) given the same history and seed propose the same mixtures."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mixopt.bench.oracles import Oracle
from mixopt.bench.strategies import make_strategy
from mixopt.policy import History, Observation, SearchPolicy
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.examples.known_surface import DOMAINS, true_score
from studies.launchers.function import FunctionLauncher
from studies.orchestrator import Orchestrator, policy_settings
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import function_study

STRATEGY = "gp-bo:init=4:kernel=matern"
GP = {"name": "gp", "options": {"kernel": "matern"}}


def noise_free(weights: Mapping[str, float], *, seed: int = 0) -> dict[str, float]:
    """The known surface without noise (the bench's oracle below observes the same)."""
    return {"out_score": true_score(weights)}


def _oracle(config) -> Oracle:
    """The bench's oracle of `noise_free` (extremes unused: only values are compared)."""
    return Oracle("known", policy_settings(config).space, lambda X: np.array(
        [true_score(dict(zip(DOMAINS, x, strict=True))) for x in X]), extremes=None)


def _study(tmp_path, **search):
    return load_study_config(function_study(
        tmp_path, "tests.studies.test_policy_parity:noise_free", surrogate=GP, **search))


def test_the_study_settings_are_the_bench_strategy_settings(tmp_path):
    config = _study(tmp_path, batch_size=3)
    strategy = make_strategy(STRATEGY)
    settings = policy_settings(config)
    assert settings == strategy.settings(settings.space, seed=0, batch_size=3)


def test_a_sequential_study_proposes_what_the_bench_strategy_proposes(tmp_path):
    config = _study(tmp_path, max_trials=7, batch_size=1, parallelism=1)
    outcome = run_study(config, poll_interval_s=0.01)
    latest = latest_attempts(outcome.trials)
    assert [r.source for r in latest] == ["design"] * 4 + ["proposal"] * 3
    X_study = np.array([[r.weights[d] for d in DOMAINS] for r in latest])

    run = make_strategy(STRATEGY).run(_oracle(config), 7, seed=0, noise_sd=0.0, batch_size=1)
    np.testing.assert_allclose(X_study, run.X, rtol=0, atol=1e-9)
    rec = outcome.recommendation.mixture.to_vector(DOMAINS)
    np.testing.assert_allclose(rec, run.recommended[-1], atol=1e-4)


def test_pending_and_abandoned_trials_reach_the_policy_as_the_bench_passes_them(tmp_path):
    config = _study(tmp_path, batch_size=2)
    ledger = ledger_of(config)
    orchestrator = Orchestrator(config, FunctionLauncher(noise_free), ledger)
    orchestrator.parent = ledger.study_run()
    settings = make_strategy(STRATEGY).settings(policy_settings(config).space, seed=0,
                                                batch_size=2)
    # The initial design done, then a trial of each other state.
    W = np.vstack([SearchPolicy(settings).design,
                   np.random.default_rng(5).dirichlet(np.ones(3), size=4)])
    for i, w in enumerate(W):
        weights = dict(zip(DOMAINS, w.tolist(), strict=True))
        record = ledger.create_trial(orchestrator.parent, index=i, attempt=0, weights=weights,
                                     seed=0, source="design")
        if i < 5:
            ledger.mark_completed(record.run_id, {"out_score": true_score(weights)},
                                  true_score(weights))
        elif i == 5:
            ledger.mark_running(record.run_id, {})
        elif i == 6:
            ledger.mark_failed(record.run_id, "lost", abandoned=True)
        else:
            ledger.mark_failed(record.run_id, "to retry")
    latest = latest_attempts(ledger.trials())
    assert [r.status for r in latest][5:] == [TrialStatus.RUNNING, TrialStatus.ABANDONED,
                                             TrialStatus.FAILED]
    proposed = orchestrator._next_mixtures(latest, 2)

    observations = tuple(Observation(W[i], (true_score(dict(zip(DOMAINS, W[i], strict=True))),))
                         for i in range(5))
    ask = SearchPolicy(settings).ask(
        History(observations, pending=W[[5, 7]], abandoned=W[[6]]), 2)
    assert [source for _, source in proposed] == ["proposal", "proposal"]
    X_study = np.array([[w[d] for d in DOMAINS] for w, _ in proposed])
    np.testing.assert_allclose(X_study, ask.X, rtol=0, atol=1e-9)
    # The pending and abandoned mixtures mattered: without them the policy asks otherwise.
    blind = SearchPolicy(settings).ask(History(observations), 2)
    assert not np.allclose(blind.X, ask.X, atol=1e-3)

