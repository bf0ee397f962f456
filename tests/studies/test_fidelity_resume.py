"""SIGKILL of the driver while a trial that already reported a checkpoint runs, then resume:
the checkpoint observation survives and nothing is duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studies.checkpoints import FIDELITY_METRIC
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.orchestrator import Orchestrator
from studies.trials import TrialStatus, latest_attempts
from tests.studies.test_fidelity_study import fidelity_study

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _running_with_checkpoint(config) -> list:
    if not (config.study_dir / "study.json").exists():  # the store is not set up yet
        return []
    return [r for r in ledger_of(config).trials()
            if r.status is TrialStatus.RUNNING and FIDELITY_METRIC in r.metrics]


def test_sigkill_after_a_checkpoint_then_resume_keeps_it_once(tmp_path):
    path = fidelity_study(tmp_path, max_trials=6)
    config = load_study_config(path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MIXOPT_TEST_DELAY": "1.0"}
    driver = subprocess.Popen(
        [sys.executable, "-m", "studies.cli", "study", "run", str(path), "--poll-interval",
         "0.05"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        while not (hit := _running_with_checkpoint(config)):
            if driver.poll() is not None:
                raise AssertionError(driver.stderr.read().decode()[-2000:])
            assert time.time() < deadline, "no trial reported a checkpoint in time"
            time.sleep(0.1)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    killed = hit[0]

    run_study(config, poll_interval_s=0.01)

    ledger = ledger_of(config)
    trials = ledger.trials()
    latest = latest_attempts(trials)
    assert [r.index for r in latest] == list(range(6))
    assert all(r.status is TrialStatus.COMPLETED for r in latest)
    completed_runs = [r.index for r in trials if r.status is TrialStatus.COMPLETED]
    assert sorted(completed_runs) == list(range(6))  # no trial completed twice
    client = ledger.client
    # The killed attempt keeps its checkpoint, logged once; it failed as a driver failure.
    old = next(r for r in trials if r.run_id == killed.run_id)
    assert old.status is TrialStatus.FAILED and old.failed_by_driver
    steps = [m.step for m in client.get_metric_history(old.run_id, FIDELITY_METRIC)]
    assert steps and steps[0] == 250 and len(steps) == len(set(steps))
    for r in trials:  # no checkpoint logged twice on any run
        steps = [m.step for m in client.get_metric_history(r.run_id, FIDELITY_METRIC)]
        assert len(steps) == len(set(steps)), (r.index, r.attempt, steps)
    # One observation per trial and fraction, although the killed trial reported 0.25 twice.
    history = Orchestrator(config, None, ledger)._history(trials)
    keys = [(tuple(o.x), o.fidelity) for o in history.observations]
    assert len(keys) == len(set(keys))
    assert sum(f == 0.25 for _, f in keys) == 6 and sum(f == 1.0 for _, f in keys) == 6


def test_recover_rebuilds_checkpoints_and_stops_from_the_attempt_folders(tmp_path):
    from studies.recover import recover_study
    from studies.store_location import sqlite_path

    path = fidelity_study(tmp_path, max_trials=6, parallelism=1, batch_size=1,
                          early_stopping={"rule": "percentile", "min_curves": 2})
    config = load_study_config(path)
    run_study(config, poll_interval_s=0.01)
    client = ledger_of(config).client

    def curves(trials):
        return {(r.index, r.attempt): [(m.step, m.value) for m in sorted(
            client.get_metric_history(r.run_id, FIDELITY_METRIC), key=lambda m: m.step)
            if m.value < 1.0] for r in trials}

    before = ledger_of(config).trials()
    old_curves = curves(before)
    assert any(r.status is TrialStatus.STOPPED_EARLY for r in before)
    sqlite_path(config.tracking_uri).unlink()

    _, summary = recover_study(config)
    assert "recovered 6 trial attempt(s)" in summary, summary
    after = ledger_of(config).trials()
    client = ledger_of(config).client
    assert {(r.index, r.attempt): (r.status, r.reason) for r in after} == \
        {(r.index, r.attempt): (r.status, r.reason) for r in before}
    assert curves(after) == old_curves
    for r in after:
        if r.status is TrialStatus.STOPPED_EARLY:
            assert "mixopt.early_stop" in client.get_run(r.run_id).data.tags
    # A recovered stop is not retried: the study has nothing left to run.
    assert len(run_study(config, poll_interval_s=0.01).trials) == 6
