"""`mixopt study recover`: a study whose store lost it is rebuilt from its folder, with real
sqlite stores; completed trials are then never re-run."""

from __future__ import annotations

import json

import pytest
import yaml

from studies.config import load_study_config
from studies.driver import StudyStoreMismatchError, ledger_of, open_study, run_study
from studies.ledger import sqlite_path
from studies.recover import RECOVERED_FROM, recover_study
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import function_study, local_study


def _lose_store(config) -> None:
    db = sqlite_path(config.tracking_uri)
    assert db is not None and db.is_file()
    db.unlink()


def _by_slot(trials):
    return {(r.index, r.attempt): r for r in trials}


@pytest.fixture
def no_delay(monkeypatch, tmp_path):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    monkeypatch.chdir(tmp_path)


def test_a_function_study_is_recovered_and_not_rerun(tmp_path, no_delay):
    path = function_study(tmp_path, max_trials=4, parallelism=1)
    config = load_study_config(path)
    before = _by_slot(run_study(config, poll_interval_s=0.01).trials)
    _lose_store(config)
    with pytest.raises(StudyStoreMismatchError, match="study recover"):
        run_study(config)

    _, summary = recover_study(config)
    assert len(summary.splitlines()) == 1
    assert "recovered 4 trial attempt(s)" in summary and "4 completed" in summary
    view = open_study(str(path)).view  # what `study status` shows
    after = _by_slot(view.trials)
    assert set(after) == set(before)
    for slot, old in before.items():
        new = after[slot]
        assert new.status is TrialStatus.COMPLETED and dict(new.weights) == dict(old.weights)
        assert new.objective == old.objective and new.metrics == old.metrics
        assert new.source == old.source and new.seed == old.seed
        assert ledger_of(config).client.get_run(new.run_id).data.tags[RECOVERED_FROM] \
            == old.run_id
    assert view.best_observed().index == max(before.values(), key=lambda r: r.objective).index

    # `run` re-runs none of them; a raised max_trials runs only the new trials.
    assert len(run_study(config, poll_interval_s=0.01).trials) == 4
    data = yaml.safe_load(path.read_text())
    data["search"]["max_trials"] = 6
    path.write_text(yaml.safe_dump(data))
    outcome = run_study(load_study_config(path), poll_interval_s=0.01)
    assert [r.index for r in latest_attempts(outcome.trials)] == list(range(6))
    assert len(outcome.trials) == 6
    assert {r.run_id for r in outcome.trials} >= {r.run_id for r in after.values()}


def test_a_local_study_is_recovered_and_not_rerun(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = local_study(tmp_path, max_trials=3, parallelism=2)
    config = load_study_config(path)
    before = _by_slot(run_study(config, poll_interval_s=0.1).trials)
    outcomes = {p: p.stat().st_mtime_ns for p in config.study_dir.glob("trials/*/outcome.json")}
    assert len(outcomes) == 3
    db = sqlite_path(config.tracking_uri)
    db.write_bytes(b"")  # truncated

    _, summary = recover_study(config)
    assert "recovered 3 trial attempt(s)" in summary and "3 completed" in summary
    after = _by_slot(open_study(str(path)).view.trials)
    assert {s: (dict(r.weights), r.objective) for s, r in after.items()} == \
        {s: (dict(r.weights), r.objective) for s, r in before.items()}
    outcome = run_study(config, poll_interval_s=0.1)
    assert len(outcome.trials) == 3 and all(r.status is TrialStatus.COMPLETED
                                            for r in outcome.trials)
    assert {p: p.stat().st_mtime_ns for p in outcomes} == outcomes  # no trial ran again


def test_failures_and_an_interrupted_recovery(tmp_path, no_delay, monkeypatch):
    """A failed then retried trial, and an attempt with no outcome, recovered; a recovery
    killed midway is refused by `run` and finished by running `recover` again."""
    monkeypatch.setenv("MIXOPT_TEST_STATE", str(tmp_path))
    path = function_study(tmp_path, target="tests.studies.targets:flaky_surface",
                          max_trials=2, parallelism=1, max_retries=1)
    config = load_study_config(path)
    before = run_study(config, poll_interval_s=0.01).trials
    assert [(r.index, r.attempt, r.status.value) for r in before] == [
        (0, 0, "failed"), (0, 1, "completed"), (1, 0, "failed"), (1, 1, "completed")]
    running = config.study_dir / "trials" / "001-a1" / "outcome.json"
    running.unlink()  # as if it was running when the store was lost
    _lose_store(config)

    import studies.ledger

    calls = []
    real = studies.ledger.Ledger.mark_failed

    def dies_on_the_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(studies.ledger.Ledger, "mark_failed", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        recover_study(config)
    monkeypatch.setattr(studies.ledger.Ledger, "mark_failed", real)
    with pytest.raises(StudyStoreMismatchError, match=r"no run of 1 trial folder.*001-a1"):
        run_study(config)

    _, summary = recover_study(config)
    assert "already in the store" in summary
    trials = _by_slot(open_study(str(path)).view.trials)
    assert [(s, r.status.value) for s, r in sorted(trials.items())] == [
        ((0, 0), "failed"), ((0, 1), "completed"), ((1, 0), "failed"), ((1, 1), "failed")]
    assert trials[(0, 0)].reason.startswith("the function raised RuntimeError: flaky")
    assert trials[(1, 1)].failed_by_driver and "no outcome" in trials[(1, 1)].reason
    # The driver's failure is retried (free of max_retries) as a new attempt, nothing else.
    outcome = run_study(config, poll_interval_s=0.01)
    assert [(r.index, r.attempt) for r in outcome.trials if r.run_id not in
            {t.run_id for t in trials.values()}] == [(1, 2)]
    assert all(r.status is TrialStatus.COMPLETED for r in latest_attempts(outcome.trials))


def test_a_folder_without_study_json_is_refused(tmp_path, no_delay):
    config = load_study_config(function_study(tmp_path, max_trials=1))
    from studies.recover import RecoverError

    with pytest.raises(RecoverError, match=r"nothing to recover from: .*study\.json"):
        recover_study(config)


def test_recover_on_a_healthy_store_changes_nothing(tmp_path, no_delay):
    path = function_study(tmp_path, max_trials=2, parallelism=1)
    config = load_study_config(path)
    run_study(config, poll_interval_s=0.01)
    from typer.testing import CliRunner

    from studies.cli import app

    result = CliRunner().invoke(app, ["study", "recover", str(path)])
    assert result.exit_code == 0, result.output
    assert "recovered 0 trial attempt(s)" in result.output
    assert "2 already in the store" in result.output
    assert json.loads((config.study_dir / "trials" / "000-a0" / "attempt.json").read_text())[
        "source"] == "design"


def test_the_recovered_parent_run_is_ended_as_the_study_was(tmp_path, no_delay):
    config = load_study_config(function_study(tmp_path, max_trials=2, parallelism=1))
    run_study(config, poll_interval_s=0.01)
    _lose_store(config)
    recover_study(config)
    ledger = ledger_of(config)
    parent = ledger.client.get_run(ledger.find_study_run())
    assert parent.info.status == "FINISHED"  # it had written its recommendation
    assert parent.data.params["objective"] == "out_score"
    assert parent.data.params["max_trials"] == "2"
