"""Studies of one workdir in one MLflow store, as the UI shows them (issue 16 §1).

Real function studies and real sqlite stores: the shared store, the study's own store of an
earlier version, what the runs table shows (run names, rounded weights, the experiment's kind)
and the parent run's status when the driver finishes, fails, is killed and resumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from studies.cli import app
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.ledger import (
    CLASSIC_TRAINING,
    EXACT_WEIGHTS,
    EXPERIMENT_KIND,
    WEIGHTS,
    Ledger,
    rounded_weight,
    sqlite_path,
)
from studies.store_location import own_store, shared_store, sqlite_uri
from tests.studies.study_files import function_study, two_function_studies
from tests.studies.test_store_creation import _RELEASED_DRIVER

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ran_two(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("shared")
    os.environ["MIXOPT_TEST_DELAY"] = "0"
    try:
        configs = [load_study_config(p) for p in
                   two_function_studies(tmp_path, max_trials=3, parallelism=1)]
        for config in configs:
            run_study(config, poll_interval_s=0.01)
    finally:
        del os.environ["MIXOPT_TEST_DELAY"]
    return tmp_path, configs


def test_two_studies_of_a_workdir_share_one_store(ran_two):
    tmp_path, configs = ran_two
    workdir = tmp_path / "runs"
    assert {c.tracking_uri for c in configs} == {sqlite_uri(shared_store(workdir))}
    assert not any(own_store(workdir, c.name).exists() for c in configs)
    client = MlflowClient(sqlite_uri(shared_store(workdir)))
    experiment = client.get_experiment_by_name(configs[0].tracking.experiment)
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    names = sorted(r.info.run_name for r in runs)
    assert names == ["other", "other/trial-000", "other/trial-001", "other/trial-002",
                     "unit", "unit/trial-000", "unit/trial-001", "unit/trial-002"]
    assert experiment.tags[EXPERIMENT_KIND] == CLASSIC_TRAINING


def test_each_study_keeps_its_artifacts_in_its_folder(ran_two):
    _, configs = ran_two
    for config in configs:
        ledger = ledger_of(config)
        for record in ledger.trials():
            uri = ledger.client.get_run(record.run_id).info.artifact_uri
            assert uri.startswith((config.study_dir / "artifacts").as_uri()), uri
            exact = json.loads(Path(uri.removeprefix("file://"), EXACT_WEIGHTS).read_text())
            assert exact == record.weights
        assert list((config.study_dir / "artifacts").rglob("recommendation.json"))


def test_weights_are_logged_rounded_and_kept_exact(ran_two):
    _, configs = ran_two
    ledger = ledger_of(configs[0])
    for record in ledger.trials():
        run = ledger.client.get_run(record.run_id)
        exact = json.loads(run.data.tags[WEIGHTS])
        for domain, weight in exact.items():
            shown = run.data.params[f"w.{domain}"]
            assert shown == rounded_weight(weight)
            assert abs(float(shown) - weight) <= 5e-7
            assert len(shown.partition(".")[2]) <= 6


def test_rounded_weight():
    assert rounded_weight(1.30754824e-13) == "0"
    assert rounded_weight(9.9e-7) == "0"
    assert rounded_weight(1 / 3) == "0.333333"
    assert rounded_weight(0.5) == "0.5"
    assert rounded_weight(1.0) == "1"
    assert rounded_weight(2.5e-6) == "0.000003"


def test_parent_runs_end_finished(ran_two):
    _, configs = ran_two
    for config in configs:
        ledger = ledger_of(config)
        info = ledger.client.get_run(ledger.find_study_run()).info
        assert info.status == "FINISHED" and info.end_time is not None


def test_a_study_with_its_own_store_keeps_it(tmp_path, monkeypatch):
    """A study of an earlier version (its store in its folder) resumes there."""
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    config = load_study_config(function_study(tmp_path, max_trials=3, parallelism=1))
    own = own_store(config.workdir, config.name)
    old = config.model_copy(update={"tracking": config.tracking.model_copy(
        update={"uri": sqlite_uri(own)})})
    run_study(old, max_trials=2, poll_interval_s=0.01)
    assert config.tracking_uri == sqlite_uri(own)
    run_study(config, poll_interval_s=0.01)
    assert len(ledger_of(config).trials()) == 3  # resumed: 2 old trials and 1 new one
    assert not shared_store(config.workdir).exists()


def test_an_own_store_that_does_not_know_the_study_is_not_used(tmp_path):
    config = load_study_config(function_study(tmp_path))
    own = own_store(config.workdir, config.name)
    Ledger(sqlite_uri(own), config.tracking.experiment, "someone-else").study_run()
    assert sqlite_path(config.tracking_uri) == shared_store(config.workdir).absolute()
    own.write_bytes(b"not a database" * 100)  # unreadable: opened, so that its error shows
    assert sqlite_path(config.tracking_uri) == own.absolute()


def _parent_status(config) -> str:
    ledger = ledger_of(config)
    return ledger.client.get_run(ledger.find_study_run()).info.status


def test_parent_run_fails_with_the_driver_and_runs_again_on_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    config = load_study_config(function_study(tmp_path, max_trials=3, parallelism=1))

    def crash(progress):
        raise RuntimeError("a bug in the driver")

    with pytest.raises(RuntimeError, match="a bug"):
        run_study(config, on_progress=crash, poll_interval_s=0.01)
    assert _parent_status(config) == "FAILED"
    seen = []
    run_study(config, poll_interval_s=0.01,
              on_progress=lambda progress: seen.append(_parent_status(config)))
    assert seen and set(seen) == {"RUNNING"}
    assert _parent_status(config) == "FINISHED"


def test_sigterm_ends_the_parent_run_killed(tmp_path):
    path = function_study(tmp_path, max_trials=3, parallelism=1)
    config = load_study_config(path)
    env = {**os.environ, "MIXOPT_TEST_DELAY": "60", "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen([sys.executable, "-m", "studies.cli", "study", "run", str(path),
                               "--poll-interval", "0.05"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (config.study_dir / "trials").is_dir():
            assert driver.poll() is None, driver.communicate()[1][-2000:]
            time.sleep(0.2)
        time.sleep(0.5)
        driver.send_signal(signal.SIGTERM)
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode != 0
    assert "Traceback" not in err, err[-2000:]
    assert _parent_status(config) == "KILLED"
    assert not (config.study_dir / "driver.lock").exists()  # the lock was released


def test_tracking_uri_option_of_run_and_recover(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    path = function_study(tmp_path, max_trials=2, parallelism=1)
    elsewhere = tmp_path / "elsewhere" / "store.db"
    uri = sqlite_uri(elsewhere)
    runner = CliRunner()
    result = runner.invoke(app, ["study", "run", str(path), "--tracking-uri", uri,
                                 "--poll-interval", "0.01"])
    assert result.exit_code == 0, result.output
    assert elsewhere.is_file() and not (tmp_path / "runs" / "mlflow.db").exists()
    elsewhere.unlink()  # the store lost: rebuilt there from the study's folder
    result = runner.invoke(app, ["study", "recover", str(path), "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "runs" / "mlflow.db").exists()
    result = runner.invoke(app, ["study", "status", "unit", "--tracking-uri", uri, "--json"])
    assert [t["status"] for t in json.loads(result.output)["trials"]] == ["completed"] * 2


@pytest.mark.slow
def test_drivers_of_two_studies_started_at_the_same_instant(tmp_path):
    """Both create, or wait for, the workdir's one store; both studies complete in it."""
    paths = two_function_studies(tmp_path, max_trials=3, parallelism=1)
    go = tmp_path / "go"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MIXOPT_TEST_DELAY": "0.2"}
    drivers = [subprocess.Popen([sys.executable, "-c", _RELEASED_DRIVER, str(go), str(p)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for p in paths]
    deadline = time.time() + 120
    while time.time() < deadline and not all(
            d.poll() is not None or (tmp_path / f"ready.{d.pid}").exists() for d in drivers):
        time.sleep(0.1)
    go.touch()
    results = [(d.wait(timeout=300), *d.communicate()) for d in drivers]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    for path in paths:
        config = load_study_config(path)
        assert config.tracking_uri == sqlite_uri(shared_store(config.workdir))
        assert [r.status.value for r in ledger_of(config).trials()] == ["completed"] * 3
