"""The closed loop with the `function` launcher: known surface, failures, retries, timeouts,
stopping, continuation. (Resume after SIGKILL: test_resume.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.examples.known_surface import OPTIMUM, true_score
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import function_study


def _run(path, **kw):
    config = load_study_config(path)
    return config, run_study(config, poll_interval_s=0.01, **kw)


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0.01")


def test_study_finds_the_optimum_region_and_the_ledger_holds_every_trial(tmp_path):
    config, outcome = _run(function_study(tmp_path, max_trials=10))
    latest = latest_attempts(outcome.trials)
    assert [r.index for r in latest] == list(range(10))
    assert all(r.status is TrialStatus.COMPLETED for r in latest)
    rec = outcome.recommendation
    assert rec is not None
    gap = true_score(OPTIMUM) - true_score(rec.mixture)
    assert gap < 0.02, (rec, gap)  # the surface spans ~1.5; 10 trials get within 2 %
    assert abs(sum(rec.mixture.values()) - 1) < 1e-9

    ledger = ledger_of(config)
    parent = ledger.find_study_run()
    runs = ledger.client.search_runs([ledger.experiment_id],
                                     filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    assert len(runs) == 10
    for run in runs:
        assert set(run.data.params) >= {"w.alpha", "w.beta", "w.gamma"}
        assert "objective" in run.data.metrics and "out_score" in run.data.metrics
        assert run.info.status == "FINISHED"
    parent_run = ledger.client.get_run(parent)
    assert "best_objective" in parent_run.data.metrics
    history = ledger.client.get_metric_history(parent, "best_objective")
    values = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert values == sorted(values)  # best so far never gets worse
    saved = json.loads((config.study_dir / "recommendation.json").read_text())
    assert saved["recommendation"]["weights"] == pytest.approx(rec.mixture.to_dict())


def test_proposals_avoid_pending_trials(tmp_path):
    _, outcome = _run(function_study(tmp_path, max_trials=8, parallelism=4, batch_size=4))
    X = np.array([[r.weights[d] for d in ("alpha", "beta", "gamma")]
                  for r in latest_attempts(outcome.trials)])
    distances = np.linalg.norm(X[:, None] - X[None], axis=-1)[np.triu_indices(len(X), 1)]
    assert distances.min() > 1e-3


def test_failed_trials_are_retried(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_STATE", str(tmp_path))
    _, outcome = _run(function_study(tmp_path, "tests.studies.targets:flaky_surface",
                                     max_trials=5, max_retries=1))
    latest = latest_attempts(outcome.trials)
    assert len(latest) == 5
    assert all(r.status is TrialStatus.COMPLETED and r.attempt == 1 for r in latest)
    failed = [r for r in outcome.trials if r.status is TrialStatus.FAILED]
    assert len(failed) == 5
    assert all("flaky first call" in r.reason for r in failed)


def test_a_trial_that_always_fails_is_abandoned_and_the_study_ends(tmp_path):
    _, outcome = _run(function_study(tmp_path, "tests.studies.targets:always_fails",
                                     max_trials=3, max_retries=1))
    latest = latest_attempts(outcome.trials)
    assert [r.status for r in latest] == [TrialStatus.ABANDONED] * 3
    assert all(r.attempt == 1 and "no retries left" in r.reason for r in latest)
    assert len(outcome.trials) == 6
    assert outcome.recommendation is None and outcome.notes


def test_a_hanging_trial_times_out_and_the_study_goes_on(tmp_path):
    _, outcome = _run(function_study(tmp_path, "tests.studies.targets:hangs_on_first",
                                     max_trials=5, max_retries=0, trial_timeout_s=1.0))
    latest = latest_attempts(outcome.trials)
    assert latest[0].status is TrialStatus.ABANDONED
    assert "timed out after 1 s" in latest[0].reason
    assert all(r.status is TrialStatus.COMPLETED for r in latest[1:])


@pytest.mark.parametrize(("target", "reason"), [
    ("no_objective", "out_score"), ("not_a_dict", "not a dict of metrics")])
def test_bad_results_fail_the_trial_with_the_reason(tmp_path, target, reason):
    _, outcome = _run(function_study(tmp_path, f"tests.studies.targets:{target}",
                                     max_trials=2, max_retries=0))
    assert all(reason in r.reason for r in latest_attempts(outcome.trials))


def test_running_again_continues_and_never_reruns_completed_trials(tmp_path):
    path = function_study(tmp_path, max_trials=8)
    _, first = _run(path, max_trials=4)
    _, second = _run(path)
    first_ids = {r.index: r.run_id for r in first.trials}
    latest = latest_attempts(second.trials)
    assert len(latest) == 8 and len(second.trials) == 8
    assert all(latest[i].run_id == first_ids[i] for i in range(4))
    _, third = _run(path)  # nothing left to do
    assert len(third.trials) == 8


def test_stopping_rule_ends_the_study_early(tmp_path):
    _, outcome = _run(function_study(tmp_path, max_trials=12,
                                     stopping={"ei_below": 1.0, "rounds": 1}))
    assert outcome.stopped_early
    assert len(latest_attempts(outcome.trials)) == 4  # the design, then the rule fired


def test_two_objectives_use_hypervolume_proposals(tmp_path):
    path = function_study(tmp_path, max_trials=6)
    text = path.read_text().replace(
        "objective:\n    metric: out_score",
        "objective:\n    metric: out_score\n  secondary_objective:\n    metric: in_score")
    path.write_text(text)
    config, outcome = _run(path)
    assert config.eval.secondary_objective is not None
    latest = latest_attempts(outcome.trials)
    assert len(latest) == 6 and {r.source for r in latest} == {"design", "proposal"}


def test_confirmation_trial_retrains_the_recommendation(tmp_path):
    _, outcome = _run(function_study(tmp_path, max_trials=5, confirm=True))
    latest = latest_attempts(outcome.trials)
    assert len(latest) == 6
    assert latest[-1].source == "confirmation"
    assert latest[-1].weights == pytest.approx(outcome.recommendation.mixture.to_dict())


def test_warm_start_from_an_earlier_study_skips_the_design(tmp_path):
    first = function_study(tmp_path / "a", max_trials=6)
    _run(first)
    second = function_study(tmp_path / "b", max_trials=2)
    second.write_text(second.read_text().replace("name: unit", "name: unit-warm"))
    config = load_study_config(second)
    outcome = run_study(config, poll_interval_s=0.01, warm_start_from=[str(first)])
    latest = latest_attempts(outcome.trials)
    assert len(latest) == 2 and all(r.source == "proposal" for r in latest)
    rec = outcome.recommendation
    assert true_score(OPTIMUM) - true_score(rec.mixture) < 0.02
    # A resumed run remembers its warm start without the option.
    again = run_study(config, poll_interval_s=0.01, max_trials=3)
    assert latest_attempts(again.trials)[-1].source == "proposal"


def test_warm_start_from_other_domains_is_refused(tmp_path):
    first = function_study(tmp_path / "a", max_trials=3)
    _run(first)
    second = tmp_path / "b.yaml"
    second.write_text(first.read_text().replace("- gamma", "- delta").replace(
        "name: unit", "name: other"))
    with pytest.raises(Exception, match=r"domains .* differ"):
        run_study(load_study_config(second), warm_start_from=[str(first)])


def test_a_failing_surrogate_recommends_the_best_observed_trial_and_says_so(tmp_path):
    # The known surface peaks inside the simplex: a linear model's argmax is a vertex.
    config, outcome = _run(function_study(tmp_path, max_trials=6,
                                          surrogate={"name": "linear"}))
    rec, best = outcome.recommendation, outcome.best_observed
    assert rec.rule == "best-observed" and rec.reason
    assert rec.mixture.to_dict() == pytest.approx(best.weights)
    assert any("best observed mixture" in note for note in outcome.notes)
    saved = json.loads((config.study_dir / "recommendation.json").read_text())
    assert saved["recommendation"]["rule"] == "best-observed"
    assert "new training run" in saved["recommendation"]["std_is"]
    ledger = ledger_of(config)
    tags = ledger.client.get_run(ledger.find_study_run()).data.tags
    assert tags["mixopt.recommendation_rule"] == "best-observed"
