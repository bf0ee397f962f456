"""`studies.store_reader` / `studies.opening.read_study`: a study read from a real sqlite store
without MLflow is what MLflow's client reads, and `study status` prints the same either way."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from importlib import metadata

import pytest
from typer.testing import CliRunner

from studies import store_reader
from studies.cli import app
from studies.config import load_study_config
from studies.driver import StudyStoreMismatchError, ledger_of, open_study, run_study
from studies.ledger import create_sqlite_store, sqlite_path
from studies.opening import read_study
from studies.store_reader import read_stored_study, verified_store
from studies.trials import TrialStatus
from tests.studies.study_files import function_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A finished function study with failed first attempts and their retries (flaky target)."""
    tmp = tmp_path_factory.mktemp("reader")
    state = tmp / "state"
    state.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIXOPT_TEST_STATE", str(state))
        path = function_study(tmp, target="tests.studies.targets:flaky_surface", max_trials=6,
                              parallelism=1, batch_size=1)
        config = load_study_config(path)
        run_study(config, poll_interval_s=0.01)
    return path, config


def test_the_reader_reads_what_the_client_reads(study):
    _, config = study
    ledger = ledger_of(config)
    stored = read_stored_study(config.tracking_uri, config.tracking.experiment, config.name,
                               parent_history=("loo_rmse", "loo_spearman", "no_such_metric"))
    assert stored is not None and stored.parent is not None
    for metric, points in stored.parent.history.items():
        assert points == [(m.step, m.value) for m in
                          ledger.client.get_metric_history(stored.parent.run_id, metric)]
    assert stored.parent.history["loo_rmse"]  # logged each proposal round
    assert stored.parent.run_id == ledger.find_study_run()
    run = ledger.client.get_run(stored.parent.run_id)
    assert stored.parent.artifact_uri == run.info.artifact_uri
    assert dict(stored.parent.tags) == run.data.tags
    assert dict(stored.parent.params) == run.data.params
    assert dict(stored.parent.metrics) == run.data.metrics and run.data.metrics
    trials = ledger.trials()
    assert stored.trials == trials
    statuses = {r.status for r in trials}
    assert {TrialStatus.FAILED, TrialStatus.COMPLETED} <= statuses  # retries were read too
    assert any(r.attempt == 1 for r in trials)
    assert read_stored_study(config.tracking_uri, config.tracking.experiment, "other") \
        .parent is None


def test_read_study_gives_open_studys_view_by_path_and_by_name(study):
    path, config = study
    read = read_study(str(path))
    assert read is not None and read.view == open_study(str(path)).view
    assert read.config == config
    by_name = read_study(config.name, tracking_uri=config.tracking_uri)
    assert by_name is not None and by_name.config is None
    assert by_name.view == open_study(config.name, tracking_uri=config.tracking_uri).view


def _invoke(*argv: str) -> str:
    result = CliRunner().invoke(app, list(argv))
    assert result.exit_code == 0, result.output
    return result.output


def test_status_prints_the_same_without_and_with_mlflows_client(study, monkeypatch):
    path, config = study
    variants = [["study", "status", str(path)], ["study", "status", str(path), "--json"],
                ["study", "status", str(path), "--wide"],
                ["study", "status", config.name, "--tracking-uri", config.tracking_uri]]

    def no_client(*args, **kwargs):
        raise AssertionError("the MLflow client was used")

    with monkeypatch.context() as mp:
        mp.setattr("studies.driver.open_study", no_client)
        fast = [_invoke(*argv) for argv in variants]
    monkeypatch.setattr("studies.opening.read_study", lambda *args, **kwargs: None)
    slow = [_invoke(*argv) for argv in variants]
    assert fast == slow
    assert "recommended mixture" in fast[0] and '"attempt": 1' in fast[1]  # retries shown


def test_predict_prints_the_same_without_and_with_mlflows_client(study, monkeypatch):
    path, _ = study
    argv = ["study", "predict", str(path), "--json", "--top", "2"]
    with monkeypatch.context() as mp:
        mp.setattr("studies.driver.open_study", lambda *args, **kwargs: 1 / 0)
        fast = [_invoke(*argv), _invoke(*argv[:-3])]
    monkeypatch.setattr("studies.opening.read_study", lambda *args, **kwargs: None)
    slow = [_invoke(*argv), _invoke(*argv[:-3])]
    assert fast == slow
    assert json.loads(fast[0])["logged_loo"]["rmse"] is not None


def test_report_logs_its_page_where_mlflows_client_finds_it(study, tmp_path, monkeypatch):
    path, config = study
    monkeypatch.setattr("studies.driver.open_study", lambda *args, **kwargs: 1 / 0)
    page = tmp_path / "fast-report.html"
    _invoke("study", "report", str(path), "--out", str(page))
    client = ledger_of(config).client
    parent = client.get_run(ledger_of(config).find_study_run())
    logged = {f.path for f in client.list_artifacts(parent.info.run_id)}
    assert page.name in logged
    copy = client.download_artifacts(parent.info.run_id, page.name, str(tmp_path / "got"))
    assert open(copy, encoding="utf-8").read() == page.read_text(encoding="utf-8")


def test_a_store_it_does_not_know_goes_to_the_client(study, tmp_path, monkeypatch):
    _, config = study
    db = sqlite_path(config.tracking_uri)
    assert verified_store(config.tracking_uri) == db
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    with closing(sqlite3.connect(copy)) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = 'abcdef123456'")
    uri = f"sqlite:///{copy}"
    assert verified_store(uri) is None  # another schema revision
    assert read_stored_study(uri, config.tracking.experiment, config.name) is None
    assert verified_store("http://127.0.0.1:5000") is None
    assert verified_store(f"sqlite:///{tmp_path / 'missing.db'}") is None
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert verified_store(config.tracking_uri) is None
    monkeypatch.delenv("MLFLOW_ENABLE_WORKSPACES")
    monkeypatch.setattr(store_reader, "VERIFIED_SCHEMAS", {})  # another MLflow version
    assert verified_store(config.tracking_uri) is None


def test_the_verified_schema_is_the_one_the_installed_mlflow_writes(tmp_path):
    """Fails after an MLflow upgrade: check the reader against it, then add the pair."""
    db = tmp_path / "fresh.db"
    create_sqlite_store(db)
    with closing(sqlite3.connect(db)) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert store_reader.VERIFIED_SCHEMAS.get(metadata.version("mlflow")) == revision


def test_a_store_that_lost_the_study_is_refused_without_the_client(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    path = function_study(tmp_path / "a", max_trials=2, parallelism=1)
    other = function_study(tmp_path / "b", max_trials=1, parallelism=1)
    config = load_study_config(path)
    run_study(config, poll_interval_s=0.01)
    other_config = load_study_config(other).model_copy(update={"name": "not-unit"})
    run_study(other_config, poll_interval_s=0.01)
    # Replaced by a store that holds another study: the folder's trials are unknown to it.
    shutil.copy(sqlite_path(other_config.tracking_uri), sqlite_path(config.tracking_uri))
    with pytest.raises(StudyStoreMismatchError, match=r"knows no such study.*study recover"):
        read_study(str(path))


def test_status_warns_of_trial_folders_the_store_has_no_run_of(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    path = function_study(tmp_path, max_trials=2, parallelism=1)
    config = load_study_config(path)
    outcome = run_study(config, poll_interval_s=0.01)
    ledger_of(config).client.delete_run(outcome.trials[-1].run_id)  # lost by the store
    fast = CliRunner().invoke(app, ["study", "status", str(path)])
    monkeypatch.setattr("studies.opening.read_study", lambda *args, **kwargs: None)
    slow = CliRunner().invoke(app, ["study", "status", str(path)])
    for result in (fast, slow):
        assert result.exit_code == 0, result.output
        assert "no run of 1 trial folder(s)" in result.output and "study recover" in result.output
