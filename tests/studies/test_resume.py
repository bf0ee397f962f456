"""A driver killed with SIGKILL mid-study, then run again: no trial lost, none duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.lock import StudyLock, StudyLockedError
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import function_study, local_study

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _driver(path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "studies.cli", "study", "run", str(path), "--poll-interval",
         "0.05"], cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(predicate, timeout_s: float = 240.0) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def _kill_after_completed(path: Path, n: int, env: dict[str, str]) -> None:
    config = load_study_config(path)
    driver = _driver(path, env)
    try:
        def enough() -> bool:
            if driver.poll() is not None:
                raise AssertionError(driver.stderr.read().decode()[-2000:])
            if not (config.study_dir / "study.json").exists():  # the store is set up
                return False
            trials = ledger_of(config).trials()
            done = [r for r in trials if r.status is TrialStatus.COMPLETED]
            return len(done) >= n and any(r.status is TrialStatus.RUNNING for r in trials)
        _wait_for(enough)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()


def test_sigkill_then_resume_function_launcher(tmp_path):
    path = function_study(tmp_path, max_trials=8, parallelism=2)
    _kill_after_completed(path, 3, {"MIXOPT_TEST_DELAY": "1.0"})
    config = load_study_config(path)
    before = ledger_of(config).trials()
    assert any(r.status.is_active for r in before)  # killed mid-trial

    outcome = run_study(config, poll_interval_s=0.01)
    latest = latest_attempts(outcome.trials)
    assert [r.index for r in latest] == list(range(8))
    assert all(r.status is TrialStatus.COMPLETED for r in latest)
    completed_runs = [r for r in outcome.trials if r.status is TrialStatus.COMPLETED]
    assert len(completed_runs) == 8  # none duplicated
    done_before = {r.run_id for r in before if r.status is TrialStatus.COMPLETED}
    assert done_before <= {r.run_id for r in completed_runs}  # none re-run
    driver_failed = [r for r in outcome.trials if r.failed_by_driver]
    assert driver_failed and all(r.status is TrialStatus.FAILED for r in driver_failed)


def test_sigkill_then_resume_adopts_running_local_trials(tmp_path):
    path = local_study(tmp_path, max_trials=4, parallelism=2)
    _kill_after_completed(path, 1, {"FAKE_TRAIN_SLEEP": "3"})
    config = load_study_config(path)
    outcome = run_study(config, poll_interval_s=0.2)
    latest = latest_attempts(outcome.trials)
    assert [r.status for r in latest] == [TrialStatus.COMPLETED] * 4
    # The trials the killed driver had started kept running and were adopted, not re-run.
    assert len(outcome.trials) == 4 and all(r.attempt == 0 for r in latest)


def test_a_second_driver_refuses_while_the_first_holds_the_lock(tmp_path):
    config = load_study_config(function_study(tmp_path))
    with StudyLock(config.study_dir / "driver.lock"):
        with pytest.raises(StudyLockedError, match="another driver"):
            run_study(config)
