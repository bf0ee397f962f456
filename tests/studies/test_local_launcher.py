"""The local launcher: one `studies.trial_process` subprocess per trial, with a fake mixopt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studies.config import LocalLauncher as LocalSettings
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.launchers.base import TrialSpec
from studies.launchers.local import LocalLauncher
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import local_study

pytestmark = pytest.mark.slow


def test_a_study_of_subprocess_trials(tmp_path):
    config = load_study_config(local_study(tmp_path))
    outcome = run_study(config, poll_interval_s=0.2)
    latest = latest_attempts(outcome.trials)
    assert [r.status for r in latest] == [TrialStatus.COMPLETED] * 4
    trial_dir = config.study_dir / "trials" / "000-a0"
    job = (trial_dir / "job.yaml").read_text()
    assert "lisa" in job and latest[0].run_id in job
    env = json.loads((trial_dir / "train" / "final" / "env.json").read_text())
    assert env["run_id"] == latest[0].run_id
    ports = {json.loads((config.study_dir / "trials" / f"{i:03d}-a0" / "train" / "final"
                         / "env.json").read_text())["MASTER_PORT"] for i in range(4)}
    assert len(ports) == 4  # every trial its own port
    ledger = ledger_of(config)
    artifacts = {a.path for a in ledger.client.list_artifacts(latest[0].run_id)}
    assert {"job.yaml", "trial.json", "eval.json", "outcome.json"} <= artifacts


def test_a_crashing_training_fails_the_trial_with_its_exit_code(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_EXIT", "3")
    config = load_study_config(local_study(tmp_path, max_trials=1, max_retries=0))
    outcome = run_study(config, poll_interval_s=0.2)
    (record,) = latest_attempts(outcome.trials)
    assert record.status is TrialStatus.ABANDONED
    assert "mixopt train exited with code 3" in record.reason
    assert "fake training crashed" in record.reason


def test_gpus_are_shared_out_and_capacity_follows(tmp_path):
    settings = LocalSettings(gpus=(0, 1, 2, 3), gpus_per_trial=2)
    launcher = LocalLauncher(settings, study_dir=tmp_path)
    assert launcher.capacity == 2
    assert launcher._allocate() == [0, 1]
    launcher._in_use["a"] = [0, 1]
    assert launcher._allocate() == [2, 3]
    launcher._in_use["b"] = [2, 3]
    with pytest.raises(Exception, match="no 2 free GPU"):
        launcher._allocate()


def test_too_many_gpus_per_trial_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="gpus_per_trial is 2 but 1 GPU"):
        LocalLauncher(LocalSettings(gpus=(0,), gpus_per_trial=2), study_dir=tmp_path)


def test_a_vanished_process_without_outcome_is_failed(tmp_path):
    launcher = LocalLauncher(LocalSettings(gpus_per_trial=0), study_dir=tmp_path)
    trial_dir = tmp_path / "t"
    trial_dir.mkdir()
    (trial_dir / "trial.json").write_text("{not json")
    spec = TrialSpec("s", 0, 0, {"a": 1.0}, 0, "run", str(trial_dir))
    handle = launcher.submit(spec)
    import time

    for _ in range(300):
        poll = launcher.poll(handle)
        if poll.state != "running":
            break
        time.sleep(0.1)
    assert poll.state == "failed" and "unusable trial file" in poll.reason
    json.dumps(handle)  # a handle is JSON
    assert Path(handle["trial_dir"]) == trial_dir


def test_eval_result_parsing_matches_the_evaluators_reader(tmp_path):
    from evaluators.result import BenchmarkScore, EvalResult, write_result
    from studies.trial_process import _eval_metrics

    result = EvalResult(checkpoint="c", step=3, benchmarks={
        "lisa": BenchmarkScore(metric="mean_iou", score=0.25, n=4)},
        objectives={"in_score": 0.25})
    write_result(result, tmp_path / "eval.json")
    assert _eval_metrics(tmp_path / "eval.json") == ("completed",
                                                     {"lisa": 0.25, "in_score": 0.25}, "")
    (tmp_path / "bad.json").write_text('{"schema_version": 2}')
    status, _, reason = _eval_metrics(tmp_path / "bad.json")
    assert status == "failed" and "schema_version 2" in reason
