"""Checkpoints: the attempt's versioned file, their MLflow step metrics, the merge of attempts,
and the function launcher's reporter."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest
import yaml

from studies.checkpoints import (
    CHECKPOINTS_FILE,
    FIDELITY_METRIC,
    Checkpoint,
    CheckpointFileError,
    logged_checkpoints,
    read_checkpoints,
    write_checkpoint,
)
from studies.config import load_study_config
from studies.early_stop import CheckpointWatch
from studies.fidelity import trial_checkpoints
from studies.launchers.base import TrialSpec
from studies.launchers.function import FunctionLauncher, TrialStopped
from studies.ledger import Ledger
from studies.orchestrator import view_of
from tests.studies.test_fidelity_study import fidelity_study


def test_the_file_keeps_checkpoints_in_order_of_one_run(tmp_path):
    write_checkpoint(tmp_path, "run-a", 0.25, {"out_score": 0.5})
    write_checkpoint(tmp_path, "run-a", 0.5, {"out_score": 0.6})
    assert read_checkpoints(tmp_path, "run-a") == [Checkpoint(0.25, {"out_score": 0.5}),
                                                   Checkpoint(0.5, {"out_score": 0.6})]
    data = json.loads((tmp_path / CHECKPOINTS_FILE).read_text())
    assert data["schema_version"] == 1 and data["run_id"] == "run-a"
    with pytest.raises(CheckpointFileError, match="checkpoints must increase"):
        write_checkpoint(tmp_path, "run-a", 0.5, {"out_score": 0.7})
    with pytest.raises(CheckpointFileError, match="not of the attempt's run run-b"):
        read_checkpoints(tmp_path, "run-b")
    assert read_checkpoints(tmp_path / "nothing", "run-a") == []
    (tmp_path / CHECKPOINTS_FILE).write_text("{\"schema_version\": 1, \"run_id\": \"run-a\", "
                                             "\"checkpoints\": [{\"fraction\": 2}]}")
    with pytest.raises(CheckpointFileError, match=r"checkpoints\[0\]"):
        read_checkpoints(tmp_path, "run-a")
    (tmp_path / CHECKPOINTS_FILE).write_text("{not json")
    with pytest.raises(CheckpointFileError, match="not a JSON checkpoints file"):
        read_checkpoints(tmp_path, "run-a")


@pytest.fixture
def study(tmp_path):
    config = load_study_config(fidelity_study(tmp_path))
    ledger = Ledger(config.tracking_uri, config.tracking.experiment, config.name,
                    artifact_root=config.study_dir / "artifacts")
    return config, ledger, ledger.study_run()


def _trial(ledger, parent, index, attempt=0):
    return ledger.create_trial(parent, index=index, attempt=attempt,
                               weights={"alpha": 0.2, "beta": 0.3, "gamma": 0.5}, seed=0,
                               source="design")


def test_a_fresh_watch_logs_each_checkpoint_of_the_file_once(study, tmp_path):
    config, ledger, parent = study
    record = _trial(ledger, parent, 0)
    folder = tmp_path / "attempt"
    folder.mkdir()
    write_checkpoint(folder, record.run_id, 0.25, {"out_score": 0.4})

    def new_watch() -> CheckpointWatch:  # a driver started anew knows only the store
        return CheckpointWatch(config, ledger, lambda r: folder, view_of(config, [], None).space)

    assert new_watch().sync(record, decide=True) == (1, None)  # no rule configured
    write_checkpoint(folder, record.run_id, 0.5, {"out_score": 0.5})
    watch = new_watch()
    assert watch.sync(record, decide=False) == (2, None)
    assert watch.sync(record, decide=False) == (2, None)
    history = ledger.client.get_metric_history(record.run_id, FIDELITY_METRIC)
    assert sorted(m.step for m in history) == [250, 500]
    objective = ledger.client.get_metric_history(record.run_id, "checkpoint.objective")
    assert {m.step: m.value for m in objective} == {250: 0.4, 500: 0.5}
    assert logged_checkpoints(ledger.client, record.run_id, ["out_score"]) == [
        Checkpoint(0.25, {"out_score": 0.4}), Checkpoint(0.5, {"out_score": 0.5})]
    # The run's final metrics are untouched: checkpoints have a prefix of their own.
    assert "out_score" not in ledger.client.get_run(record.run_id).data.metrics


def test_per_trial_and_fraction_the_latest_attempt_counts(study, tmp_path):
    config, ledger, parent = study
    first, retry = _trial(ledger, parent, 0), _trial(ledger, parent, 0, attempt=1)
    other = _trial(ledger, parent, 1)
    for record, rows in ((first, [(0.25, 0.1), (0.5, 0.2)]), (retry, [(0.25, 0.3)]),
                         (other, [(0.5, 0.9)])):
        folder = tmp_path / record.run_id
        folder.mkdir()
        for fraction, value in rows:
            write_checkpoint(folder, record.run_id, fraction, {"out_score": value})
        CheckpointWatch(config, ledger, lambda r, f=folder: f,
                        view_of(config, [], None).space).sync(record, decide=False)
    found = trial_checkpoints(ledger.client, ledger.trials(), ["out_score"])
    assert found == {0: [Checkpoint(0.25, {"out_score": 0.3}), Checkpoint(0.5, {"out_score": 0.2})],
                     1: [Checkpoint(0.5, {"out_score": 0.9})]}
    # Runs that logged no checkpoint are not read at all.
    assert trial_checkpoints(ledger.client, [replace(first, metrics={})], ["out_score"]) == {}


def _spec(tmp_path, run_id="run-x") -> TrialSpec:
    return TrialSpec(study="s", index=3, attempt=0, weights={"a": 0.5, "b": 0.5}, seed=0,
                     run_id=run_id, trial_dir=str(tmp_path))


def test_a_report_waits_for_the_driver_and_a_stop_ends_the_function(tmp_path):
    reached: list[float] = []

    def fn(weights, *, seed, report):
        for fraction in report.fractions:
            report(fraction, {"score": fraction})
            reached.append(fraction)
        return {"score": 1.0}

    launcher = FunctionLauncher(fn, checkpoints=(0.25, 0.5, 1.0))
    handle = launcher.submit(_spec(tmp_path))
    deadline = time.time() + 10
    while not read_checkpoints(tmp_path, "run-x"):
        assert time.time() < deadline
        time.sleep(0.01)
    time.sleep(0.2)
    assert reached == []  # waits until the driver has read it
    launcher.checkpoints_seen(handle, 1)
    while len(read_checkpoints(tmp_path, "run-x")) < 2:
        assert time.time() < deadline
        time.sleep(0.01)
    assert reached == [0.25]
    future = launcher._futures[handle["key"]]
    launcher.cancel(handle)
    with pytest.raises(TrialStopped):
        future.result(timeout=10)
    assert reached == [0.25]
    assert not (tmp_path / "outcome.json").exists()  # the driver recorded the stop itself


def test_a_report_off_the_checkpoints_fails_the_trial(tmp_path):
    def fn(weights, *, seed, report):
        report(0.3, {"score": 0.1})
        return {"score": 1.0}

    launcher = FunctionLauncher(fn, checkpoints=(0.25, 1.0))
    handle = launcher.submit(_spec(tmp_path))
    deadline = time.time() + 10
    while (poll := launcher.poll(handle)).state == "running":
        assert time.time() < deadline
        time.sleep(0.01)
    assert poll.state == "failed" and "not one of the study's checkpoints" in poll.reason


def test_without_checkpoints_the_function_gets_no_reporter(tmp_path):
    seen = threading.Event()

    def fn(weights, *, seed, **kw):
        assert kw == {}
        seen.set()
        return {"score": 1.0}

    launcher = FunctionLauncher(fn)
    handle = launcher.submit(_spec(tmp_path))
    assert seen.wait(10)
    deadline = time.time() + 10
    while launcher.poll(handle).state == "running":
        assert time.time() < deadline
        time.sleep(0.01)


def test_a_study_whose_trials_all_stopped_says_so():
    import numpy as np

    from studies.cli.study import outcome_problem
    from studies.orchestrator import StudyOutcome
    from studies.trials import TrialStatus
    from tests.studies.conftest import make_record

    trials = [make_record(0, np.array([0.2, 0.3, 0.5]), TrialStatus.STOPPED_EARLY,
                          reason="stopped early by the percentile rule: ..."),
              make_record(1, np.array([0.5, 0.3, 0.2]), TrialStatus.FAILED, reason="boom")]
    line = outcome_problem(StudyOutcome(trials=trials, recommendation=None, best_observed=None))
    assert line == ("the study ended with no completed trial: 1 of 2 trial(s) failed or were "
                    "abandoned (1x boom), 1 stopped early")


@pytest.mark.slow  # fits the rule's curve GP
def test_the_predictive_rule_decides_on_the_curves_in_the_ledger(tmp_path):
    data = yaml.safe_load(fidelity_study(tmp_path).read_text())
    data["search"]["early_stopping"] = {"rule": "predictive", "min_curves": 2, "alpha": 0.05}
    path = tmp_path / "predictive.yaml"
    path.write_text(yaml.safe_dump(data))
    config = load_study_config(path)
    ledger = Ledger(config.tracking_uri, config.tracking.experiment, config.name,
                    artifact_root=config.study_dir / "artifacts")
    parent = ledger.study_run()
    watch = CheckpointWatch(config, ledger, lambda r: tmp_path / r.run_id,
                            view_of(config, [], None).space)
    mixtures = [(0.2, 0.5, 0.3), (0.3, 0.4, 0.3), (0.25, 0.45, 0.3), (0.9, 0.05, 0.05)]
    finals = [0.8, 0.78, 0.79, None]
    records = []
    for index, (x, final) in enumerate(zip(mixtures, finals, strict=True)):
        record = ledger.create_trial(parent, index=index, attempt=0, seed=0, source="design",
                                     weights=dict(zip(("alpha", "beta", "gamma"), x,
                                                      strict=True)))
        (tmp_path / record.run_id).mkdir()
        value = final if final is not None else 0.1
        write_checkpoint(tmp_path / record.run_id, record.run_id, 0.25,
                         {"out_score": value * 0.625})
        if final is not None:
            write_checkpoint(tmp_path / record.run_id, record.run_id, 0.5,
                             {"out_score": value * 0.75})
        watch.sync(record, decide=False)
        if final is not None:
            ledger.mark_completed(record.run_id, {"out_score": final}, final)
            watch.log_final(record, {"out_score": final}, final)
        records.append(record)
    decision = watch.decide(records[3])
    assert decision.stop and decision.rule == "predictive"
    assert decision.numbers["probability_below"] >= 0.95
    assert decision.numbers["incumbent_final"] > decision.numbers["predicted_final"]
