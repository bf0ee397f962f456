"""Proxy fidelity (`search.proxies`): the config, and `function` / local studies end to end."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from rlvr.job import load_job
from studies.cli.study import cost_line, status_json
from studies.config import StudyConfigError, load_study_config
from studies.driver import ledger_of, run_study
from studies.examples.known_surface import proxy_surface
from studies.orchestrator import spent_cost
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import function_study, local_study

REPO = Path(__file__).resolve().parents[2]
PROXY = {"levels": [{"name": "small", "cost": 0.1}]}


def slow_proxy_surface(weights: Mapping[str, float], *, seed: int = 0,
                       proxy: str | None = None) -> dict[str, float]:
    """`proxy_surface`, each call taking MIXOPT_TEST_DELAY seconds (default 0)."""
    time.sleep(float(os.environ.get("MIXOPT_TEST_DELAY", "0")))
    return proxy_surface(weights, seed=seed, proxy=proxy)


def _proxy_study(tmp_path, **search):
    return function_study(tmp_path, target="tests.studies.test_proxies:slow_proxy_surface",
                          **{"max_trials": 4, "proxies": PROXY, **search})


def _errors(tmp_path, **search) -> str:
    with pytest.raises(StudyConfigError) as err:
        load_study_config(_proxy_study(tmp_path, **search))
    return str(err.value)


# -- the config -------------------------------------------------------------------------------

def test_proxies_load_with_their_defaults(tmp_path):
    config = load_study_config(_proxy_study(tmp_path))
    proxies = config.search.proxies
    assert proxies.kernel == "ar1" and proxies.min_target_runs == 2
    assert proxies.levels[0].name == "small" and proxies.levels[0].cost == 0.1
    assert config.proxy_cost("small") == 0.1 and config.proxy_cost("") == 1.0
    assert config.proxy_cost("other") is None


@pytest.mark.parametrize(("proxies", "message"), [
    ({"levels": [{"name": "small", "cost": 1.0}]},
     "search.proxies.levels[0].cost: must lie in (0, 1) (a target trial costs 1), got 1.0"),
    ({"levels": [{"name": "small", "cost": 0.0}]}, "must lie in (0, 1)"),
    ({"levels": [{"name": "target", "cost": 0.5}]}, "`target` names the study's own trials"),
    ({"levels": [{"name": "small", "cost": 0.1, "train": {"seed": 3}}]},
     "search.proxies.levels[0].train: unknown or fixed train key(s) ['seed']; a proxy may "
     "override model, budget"),
    ({"levels": [{"name": "a", "cost": 0.1}, {"name": "a", "cost": 0.2}]},
     "search.proxies.levels: give exactly one proxy for now, got 2"),
    ({"levels": []}, "search.proxies.levels: give exactly one proxy for now, got 0"),
    ({"levels": [{"name": "small", "cost": 0.1}], "kernel": "rbf"}, "search.proxies.kernel"),
])
def test_bad_proxies_are_refused_naming_the_key(tmp_path, proxies, message):
    lines = _errors(tmp_path, proxies=proxies).splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_proxies_refuse_checkpoint_fidelity_and_the_ei_stopping_rule(tmp_path):
    text = _errors(tmp_path, fidelity={"checkpoints": [0.5, 1.0]},
                   stopping={"ei_below": 0.01})
    assert "search.proxies: not with search.fidelity (checkpoint fidelity) yet" in text
    assert "search.stopping: the expected-improvement rule does not work with " \
           "search.proxies" in text


def _local_with_proxy(tmp_path, train) -> Path:
    path = local_study(tmp_path, max_trials=3,
                       proxies={"levels": [{"name": "small", "cost": 0.25, "train": train}]})
    return path


def test_a_local_proxy_must_override_valid_train_keys(tmp_path):
    with pytest.raises(StudyConfigError) as err:
        load_study_config(_local_with_proxy(tmp_path, {}))
    assert "search.proxies.levels[0].train: a proxy must change the train job" in str(err.value)
    with pytest.raises(StudyConfigError) as err:
        load_study_config(_local_with_proxy(tmp_path, {"budget": -4}))
    assert "search.proxies.levels[0].train.budget: Input should be greater than 0" \
        in str(err.value)


def test_proxy_train_overrides_merge_into_the_template(tmp_path):
    config = load_study_config(_local_with_proxy(
        tmp_path, {"model": "./small-model", "budget": 4, "grpo": {"num_generations": 2}}))
    train = config.proxy_train("small")
    assert train.budget == 4 and train.model == str(tmp_path / "small-model")
    assert train.grpo.num_generations == 2
    # every other GRPO setting is the study's
    assert train.grpo.learning_rate == config.train.grpo.learning_rate
    job = config.train_job({"lisa": 0.5, "sat": 0.25, "scienceqa": 0.25},
                           output_dir=tmp_path / "o", run_id=None, proxy="small")
    assert job.budget == 4 and job.model == str(tmp_path / "small-model")
    assert config.train_job({"lisa": 0.5, "sat": 0.25, "scienceqa": 0.25},
                            output_dir=tmp_path / "o", run_id=None).budget == 12


# -- function studies end to end --------------------------------------------------------------

def _check_trials(config) -> list:
    ledger = ledger_of(config)
    latest = latest_attempts(ledger.trials())
    assert all(r.status is TrialStatus.COMPLETED for r in latest)
    proxies = [r for r in latest if r.proxy]
    targets = [r for r in latest if not r.proxy]
    assert proxies and len(targets) >= 2, [r.proxy for r in latest]
    assert all(r.proxy == "small" and r.cost == 0.1 for r in proxies)
    assert spent_cost(latest) <= config.search.max_trials + 1e-9
    for r in latest:  # each trial ran at its own fidelity, recorded in MLflow
        expected = proxy_surface(r.weights, seed=r.seed, proxy=r.proxy or None)
        assert r.metrics["out_score"] == pytest.approx(expected["out_score"])
        run = ledger.client.get_run(r.run_id)
        if r.proxy:
            assert run.data.tags["mixopt.fidelity"] == "small"
            assert run.data.params["fidelity"] == "small"
            assert float(run.data.params["fidelity_cost"]) == 0.1
        else:
            assert "mixopt.fidelity" not in run.data.tags and "fidelity" not in run.data.params
    return latest


def test_a_function_study_mixes_proxy_and_target_trials_and_recommends_for_the_target(
        tmp_path):
    config = load_study_config(_proxy_study(tmp_path))
    outcome = run_study(config, poll_interval_s=0.01)
    latest = _check_trials(config)
    # the initial design runs on the proxy, then the target (min_target_runs)
    assert [r.proxy for r in latest[:4]] == ["small"] * 4
    assert [r.proxy for r in latest[4:6]] == ["", ""]
    # the best observed is a target trial's, although proxies were measured
    assert outcome.best_observed is not None and not outcome.best_observed.proxy
    targets = [r for r in latest if not r.proxy]
    assert outcome.best_observed.objective == max(r.objective for r in targets)
    # the recommendation is in target units: the proxy's surface never exceeds 0.5 + noise
    rec = outcome.recommendation
    assert rec is not None and rec.mean > 0.6
    assert math.isclose(sum(rec.mixture.to_dict().values()), 1.0)
    saved = json.loads((config.study_dir / "recommendation.json").read_text())
    assert saved["recommendation"]["weights"] == pytest.approx(rec.mixture.to_dict())
    # status: the fidelity of each trial and the cost spent
    from studies.analysis import view_of

    view = view_of(config, ledger_of(config).trials(), None)
    status = status_json(view)
    assert [t.get("fidelity", "target") for t in status["trials"]] == \
        [r.proxy or "target" for r in latest]
    assert status["cost_spent"] == pytest.approx(spent_cost(latest))
    assert cost_line(view).startswith(f"cost spent: {spent_cost(latest):.4g} target-run "
                                      f"equivalents ({len(targets)} target, ")
    # the command reads the fidelities back from the store (its sqlite reader)
    from typer.testing import CliRunner

    from studies.cli import app

    shown = CliRunner().invoke(app, ["study", "status", str(config.study_dir.parent.parent
                                                            / "study.yaml"), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert [t.get("fidelity", "target") for t in data["trials"]] == \
        [r.proxy or "target" for r in latest]
    assert data["best"]["index"] == outcome.best_observed.index
    table = CliRunner().invoke(app, ["study", "status", str(config.study_dir.parent.parent
                                                             / "study.yaml")])
    assert "fidelity" in table.stdout and "cost spent: " in table.stdout


def test_a_study_without_proxies_records_no_fidelity(tmp_path):
    config = load_study_config(function_study(tmp_path, max_trials=3))
    run_study(config, poll_interval_s=0.01)
    ledger = ledger_of(config)
    latest = latest_attempts(ledger.trials())
    assert len(latest) == 3 and all(not r.proxy and r.cost == 1.0 for r in latest)
    assert all("fidelity" not in r.to_json() for r in latest)
    assert all("mixopt.fidelity" not in ledger.client.get_run(r.run_id).data.tags
               for r in latest)
    from studies.analysis import view_of

    view = view_of(config, ledger.trials(), None)
    assert "cost_spent" not in status_json(view) and cost_line(view) is None


@pytest.mark.slow
def test_sigkill_during_a_proxy_study_then_resume_keeps_the_fidelities(tmp_path):
    path = _proxy_study(tmp_path)
    config = load_study_config(path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MIXOPT_TEST_DELAY": "0.5"}
    driver = subprocess.Popen(
        [sys.executable, "-m", "studies.cli", "study", "run", str(path), "--poll-interval",
         "0.05"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        while True:
            if driver.poll() is not None:
                raise AssertionError(driver.stderr.read().decode()[-2000:])
            assert time.time() < deadline, "no target trial started in time"
            if (config.study_dir / "study.json").exists():
                seen = latest_attempts(ledger_of(config).trials())
                if any(not r.proxy for r in seen):  # past the proxy design
                    break
            time.sleep(0.2)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    # Not a terminal: plain progress lines, counting the budget's unit (cost), not trials.
    progress = driver.stderr.read().decode()
    assert "study: target-run equivalents " in progress and "/4 (" in progress, progress[-2000:]
    before = {r.index: r.proxy for r in latest_attempts(ledger_of(config).trials())}
    assert "small" in before.values() and "" in before.values()

    outcome = run_study(config, poll_interval_s=0.01)

    latest = _check_trials(config)
    assert {r.index: r.proxy for r in latest if r.index in before} == before
    assert [r.index for r in latest] == list(range(len(latest)))
    trials = ledger_of(config).trials()
    done = [r.index for r in trials if r.status is TrialStatus.COMPLETED]
    assert sorted(done) == sorted(set(done))  # no trial completed twice
    assert outcome.recommendation is not None and outcome.recommendation.mean > 0.6


def test_a_local_proxy_trial_trains_the_proxy_job(tmp_path):
    path = _local_with_proxy(tmp_path, {"budget": 4, "model": "tiny-proxy"})
    data = yaml.safe_load(path.read_text())
    data["search"]["initial_design"] = {"kind": "centroid+sobol", "n": 2}
    data["search"]["proxies"]["min_target_runs"] = 1
    path.write_text(yaml.safe_dump(data))
    config = load_study_config(path)
    run_study(config, poll_interval_s=0.05)
    latest = latest_attempts(ledger_of(config).trials())
    assert latest and all(r.status is TrialStatus.COMPLETED for r in latest), \
        [(r.status, r.reason) for r in latest]
    kinds = set()
    for r in latest:
        job = load_job(config.study_dir / "trials" / f"{r.index:03d}-a0" / "job.yaml")
        assert (job.budget, job.model) == ((4, "tiny-proxy") if r.proxy else (12, "tiny-model"))
        kinds.add(r.proxy)
    assert kinds == {"small", ""}
    assert spent_cost(latest) <= 3 + 1e-9


def test_resume_may_change_the_proxy_kernel_but_not_the_proxy():
    from studies.resume_check import classify

    assert classify("search.proxies.kernel") == "safe"
    assert classify("search.proxies.min_target_runs") == "safe"
    assert classify("search.proxies.levels") == "unsafe"
    assert classify("search.proxies") == "unsafe"


def test_a_lost_store_is_recovered_with_each_trials_fidelity(tmp_path):
    from studies.ledger import sqlite_path
    from studies.recover import recover_study

    config = load_study_config(_proxy_study(tmp_path))
    before = {r.index: (r.proxy, r.cost, r.objective)
              for r in latest_attempts(run_study(config, poll_interval_s=0.01).trials)}
    assert {p for p, _, _ in before.values()} == {"small", ""}
    sqlite_path(config.tracking_uri).unlink()

    recover_study(config)

    ledger = ledger_of(config)
    after = {r.index: (r.proxy, r.cost, r.objective) for r in latest_attempts(ledger.trials())}
    assert after == before
    # nothing is re-run: the budget was spent
    assert len(latest_attempts(run_study(config, poll_interval_s=0.01).trials)) == len(before)


def test_the_pool_offers_only_the_fidelities_the_budget_left_affords():
    import numpy as np

    from mixopt.pool import CandidatePool
    from studies.proxies import with_proxies

    base = CandidatePool(np.array([[0.5, 0.5], [0.2, 0.8]]))
    every = with_proxies(base, [0.1])
    assert sorted(set(every.fidelities)) == [0.1, 1.0] and len(every) == 4
    assert np.array_equal(every.costs, every.fidelities)
    cheap = with_proxies(base, [0.1], affordable=0.6)
    assert set(cheap.fidelities) == {0.1} and len(cheap) == 2
    assert len(with_proxies(base, [0.1], affordable=1.0)) == 4
