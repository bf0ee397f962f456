"""Resuming a study with a changed config: safe changes resume, a changed objective is
recomputed from the stored metrics, unsafe changes are refused in one line."""

from __future__ import annotations

import json

import pytest
import yaml

from studies.config import load_study_config
from studies.driver import open_study, run_study
from studies.resume_check import ResumeRefusedError, classify, config_changes
from studies.trials import TrialStatus, completed, latest_attempts
from tests.studies.study_files import function_study


@pytest.fixture
def finished(tmp_path, monkeypatch):
    """A finished 4-trial function study (out_score, maximized); its config path."""
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    monkeypatch.chdir(tmp_path)
    path = function_study(tmp_path, max_trials=4, parallelism=1)
    run_study(load_study_config(path), poll_interval_s=0.01)
    return path


def _edit(path, edit) -> None:
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))


def test_a_changed_objective_is_recomputed_from_the_stored_metrics(finished):
    before = completed(open_study(str(finished)).view.trials)
    # What the stored objective (out_score) would call best once minimized: the wrong answer.
    lowest_out = min(before, key=lambda r: r.metrics["out_score"])
    _edit(finished, lambda d: d["eval"].update(
        objective={"metric": "in_score", "direction": "minimize"}))
    config = load_study_config(finished)
    notes = []
    outcome = run_study(config, poll_interval_s=0.01, on_note=notes.append)

    assert len(notes) == 1 and "recomputed the objective of 4 completed" in notes[0]
    assert "in_score" in notes[0] and "minimize" in notes[0]
    done = completed(outcome.trials)
    assert len(done) == 4 and len(outcome.trials) == 4  # nothing re-run
    for r in done:
        assert r.objective == pytest.approx(r.metrics["in_score"])
    lowest = min(done, key=lambda r: r.metrics["in_score"])
    assert lowest.index != lowest_out.index  # the test can tell right from wrong
    assert outcome.best_observed.index == lowest.index
    view = open_study(str(finished)).view
    assert view.objective == "in_score" and not view.maximize
    assert view.best_observed().index == lowest.index
    by_name = open_study("unit", tracking_uri=config.tracking_uri).view
    assert by_name.objective == "in_score" and not by_name.maximize
    stored = json.loads((config.study_dir / "study.json").read_text())
    assert stored["eval"]["objective"]["metric"] == "in_score"
    rec = json.loads((config.study_dir / "recommendation.json").read_text())
    assert rec["best_observed"]["index"] == lowest.index and rec["direction"] == "minimize"
    # Resumed again unchanged: nothing to say, nothing recomputed.
    notes.clear()
    run_study(load_study_config(finished), poll_interval_s=0.01, on_note=notes.append)
    assert notes == []


def test_an_objective_whose_metric_a_trial_lacks_is_refused(finished):
    config = load_study_config(finished)
    stored = (config.study_dir / "study.json").read_text()
    values = {r.run_id: r.objective for r in open_study(str(finished)).view.trials}
    _edit(finished, lambda d: d["eval"].update(objective={"metric": "chart_qa"}))
    with pytest.raises(ResumeRefusedError) as info:
        run_study(load_study_config(finished), poll_interval_s=0.01)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    assert "trial 0 attempt 0" in message and "lacks 'chart_qa'" in message
    assert (config.study_dir / "study.json").read_text() == stored  # nothing written
    after = {r.run_id: r.objective for r in open_study("unit", tracking_uri=config.tracking_uri)
             .view.trials}
    assert after == values


def test_changed_domains_are_refused_naming_the_difference(finished, capsys):
    config = load_study_config(finished)
    stored = (config.study_dir / "study.json").read_text()
    _edit(finished, lambda d: d.update(domains=["alpha", "gamma", "beta"]))
    _edit(finished, lambda d: d["search"].update(bounds={"alpha": [0.0, 0.5]}))
    from studies.cli import main

    with pytest.raises(SystemExit) as info:
        main(["study", "run", str(finished)])
    assert info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1
    err = errors[0]
    assert err.startswith("error: study 'unit' cannot resume with this config: domains: ")
    assert '"beta", "gamma"] -> ["alpha", "gamma", "beta"]' in err
    assert "search.bounds.alpha: (absent) -> [0.0, 0.5]" in err
    assert (config.study_dir / "study.json").read_text() == stored
    assert len(open_study(str(finished)).view.trials) == 4


def test_raising_max_trials_resumes(finished):
    _edit(finished, lambda d: d["search"].update(max_trials=6, parallelism=2))
    notes = []
    outcome = run_study(load_study_config(finished), poll_interval_s=0.01,
                        on_note=notes.append)
    latest = latest_attempts(outcome.trials)
    assert [r.index for r in latest] == list(range(6))
    assert all(r.status is TrialStatus.COMPLETED for r in latest)
    assert notes == ["resumed with changed settings: search.max_trials, search.parallelism"]


def test_every_train_key_is_unsafe_and_launcher_resources_safe():
    old = {"train": {"model": "m", "budget": 10, "grpo": {"lr": 1.0}},
           "launcher": {"kind": "local", "gpus": "auto", "env": {}},
           "search": {"max_trials": 4, "seed": 0}}
    new = {"train": {"model": "m", "budget": 20, "grpo": {"lr": 2.0}},
           "launcher": {"kind": "local", "gpus": [0, 1], "env": {"A": "1"}},
           "search": {"max_trials": 8, "seed": 1}}
    kinds = {c.key: c.kind for c in config_changes(old, new)}
    assert kinds == {"train.budget": "unsafe", "train.grpo.lr": "unsafe",
                     "launcher.gpus": "safe", "launcher.env.A": "safe",
                     "search.max_trials": "safe", "search.seed": "unsafe"}
    assert classify("launcher.target") == "unsafe"
    assert classify("eval.secondary_objective.metric") == "objective"
    assert classify("some.new_setting") == "unsafe"


def test_status_of_an_edited_objective_shows_it_before_the_next_run(finished):
    before = completed(open_study(str(finished)).view.trials)
    _edit(finished, lambda d: d["eval"].update(
        objective={"metric": "in_score", "direction": "minimize"}))
    view = open_study(str(finished)).view  # read only: nothing recomputed in the store
    assert view.objective == "in_score" and not view.maximize
    assert {r.index: r.objective for r in completed(view.trials)} == \
        {r.index: r.metrics["in_score"] for r in before}
    assert view.best_observed().index == min(before, key=lambda r: r.metrics["in_score"]).index
    config = load_study_config(finished)
    stored = {r.run_id: r.objective for r in open_study(
        "unit", tracking_uri=config.tracking_uri).view.trials}
    assert stored == {r.run_id: r.objective for r in before}  # the store is untouched
