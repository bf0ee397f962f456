"""What a study proposes through the search policy: every surrogate a config accepts proposes
to the end, no proposal repeats a mixture, the expected improvement of each round is logged.
(A two-objective config with a surrogate without a BoTorch model is refused at load:
test_config.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from mixopt.policy import SAME_MIXTURE
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import function_study

DOMAINS = ("alpha", "beta", "gamma")


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0.01")


def _weights(records) -> np.ndarray:
    return np.array([[r.weights[d] for d in DOMAINS] for r in records])


def _assert_distinct(records) -> None:
    """All trials' mixtures pairwise distinct, unless the later one is a replicate."""
    X = _weights(records)
    for j in range(len(X)):
        if records[j].source == "replicate":
            continue
        for i in range(j):
            assert np.linalg.norm(X[i] - X[j]) >= SAME_MIXTURE, (
                f"trial {records[j].index} ({records[j].source}) repeats trial "
                f"{records[i].index}: {records[j].weights}")


@pytest.mark.parametrize("surrogate", ["quadsurface", "scheffe", "linear"])
def test_every_accepted_surrogate_proposes_to_the_end(tmp_path, surrogate):
    config = load_study_config(function_study(
        tmp_path, max_trials=9, surrogate={"name": surrogate}))
    outcome = run_study(config, poll_interval_s=0.01)
    latest = latest_attempts(outcome.trials)
    assert len(latest) == 9 and all(r.status is TrialStatus.COMPLETED for r in latest)
    assert "proposal" in {r.source for r in latest}, [r.source for r in latest]
    assert outcome.recommendation is not None
    _assert_distinct(latest)


def test_no_proposal_repeats_an_observed_or_pending_mixture(tmp_path):
    # Bounds that leave little room and a batch of four in flight at once: the easiest way to
    # repeat a mixture (the acquisition's optimum sits on a bound shared by the batch).
    config = load_study_config(function_study(
        tmp_path, max_trials=10, batch_size=4, parallelism=4,
        bounds={"alpha": [0.0, 0.1], "beta": [0.0, 0.1]}))
    outcome = run_study(config, poll_interval_s=0.01)
    latest = latest_attempts(outcome.trials)
    assert len(latest) == 10
    _assert_distinct(latest)


def test_the_expected_improvement_of_each_proposal_round_is_logged(tmp_path):
    config = load_study_config(function_study(tmp_path, max_trials=6))
    run_study(config, poll_interval_s=0.01)
    ledger = ledger_of(config)
    history = ledger.client.get_metric_history(ledger.find_study_run(), "expected_improvement")
    assert history and all(np.isfinite(m.value) and m.value >= 0 for m in history)
