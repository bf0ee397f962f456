"""Checkpoint fidelity with the real trainer: a study of one `local` trial (real `mixopt
train` of the tiny Qwen2-VL, real `mixopt eval`) with checkpoints [0.5, 1.0] evaluates the
trial's checkpoint at half its steps through the job's checkpoint hook, and its full run;
both observations are in the attempt's checkpoints.json with the evaluation's own metric
names and values, and the study's ledger has them as checkpoint.* step metrics. The same
through the slurm launcher (submitit's local executor); a cancelled trial keeps what it
evaluated; the hook's side alone (skip a done fraction, a failing evaluation, dying with the
trainer)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import yaml

from evaluators import read_result
from rlvr.job import load_job
from rlvr.models import build_tiny_qwen2vl
from studies.checkpoint_eval import eval_paths, evaluate_trial_checkpoint
from studies.checkpoints import FIDELITY_METRIC, PREFIX, read_checkpoints, write_checkpoint
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.trials import TrialStatus, latest_attempts
from tests.rlvr.training.conftest import BOX_DOMAIN as BOX
from tests.rlvr.training.conftest import MC_DOMAIN as MC
from tests.rlvr.training.conftest import write_domains

pytestmark = pytest.mark.slow


def domains_with_tests(folder):
    """The training tests' two domains (multiple choice, grounding), their records also their
    test split."""
    path = write_domains(folder, size=4)
    specs = yaml.safe_load(path.read_text())
    for spec in specs.values():
        spec["test_source"] = spec["source"]
    path.write_text(yaml.safe_dump(specs))
    return path


def study_file(tmp_path, model, domain_file):
    config = {
        "name": "tiny-fidelity",
        "domains": [MC, BOX],
        "domain_files": [str(domain_file)],
        "search": {"initial_design": {"kind": "centroid+sobol", "n": 1}, "batch_size": 1,
                   "parallelism": 1, "max_trials": 1, "max_retries": 0, "seed": 0,
                   "fidelity": {"checkpoints": [0.5, 1.0]}},
        "train": {"model": str(model), "budget": 4, "max_steps": 2, "save_steps": 100,
                  "grpo": {"learning_rate": 1e-2, "warmup_ratio": 0.0, "beta": 0.0,
                           "num_generations": 2, "per_device_train_batch_size": 2,
                           "max_completion_length": 8}},
        "eval": {"benchmarks": [MC, BOX], "objective": {"metric": "in_score"}, "limit": 2,
                 "batch_size": 2, "max_new_tokens": 4, "backend": "hf"},
        "launcher": {"kind": "local", "gpus_per_trial": 0,
                     "env": {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}},
        "workdir": str(tmp_path / "runs"),
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_a_local_trial_evaluates_its_checkpoints_and_the_study_records_them(tmp_path):
    model = build_tiny_qwen2vl(tmp_path / "model", seed=0)
    domain_file = domains_with_tests(tmp_path / "domains")
    config = load_study_config(study_file(tmp_path, model, domain_file))  # not refused now
    outcome = run_study(config, poll_interval_s=0.2)

    [record] = latest_attempts(outcome.trials)
    assert record.status is TrialStatus.COMPLETED, record.reason
    folder = config.study_dir / "trials" / f"{record.index:03d}-a{record.attempt}"
    job = load_job(folder / "job.yaml")
    assert job.checkpoint_hook.fractions == (0.5,)  # the full run is the trial's own eval

    found = read_checkpoints(folder, record.run_id)
    assert [c.fraction for c in found] == [0.5, 1.0]
    half, full = found
    # Real evaluations with eval's metric names: the half-way one of checkpoint-1, scored
    # by `mixopt eval` into its own result file; the full one is the trial's outcome.
    result = read_result(eval_paths(folder, 0.5)[0])
    assert result.step == 1 and result.checkpoint == str(job.output_dir / "checkpoint-1")
    assert set(half.metrics) == {MC, BOX, "in_score"}
    assert half.metrics[MC] == result.benchmarks[MC].score
    assert half.metrics["in_score"] == result.objectives["in_score"]
    assert all(0.0 <= v <= 1.0 for v in half.metrics.values())
    assert [result.benchmarks[b].n for b in (MC, BOX)] == [2, 2]
    outcome_file = json.loads((folder / "outcome.json").read_text())
    assert full.metrics == outcome_file["metrics"]

    # The ledger: both checkpoints at steps 500 and 1000 under checkpoint.*, and the objective.
    client = ledger_of(config).client
    assert [(m.step, m.value) for m in client.get_metric_history(record.run_id,
                                                                 FIDELITY_METRIC)] \
        == [(500, 0.5), (1000, 1.0)]
    for name in (MC, BOX, "in_score"):
        history = sorted((m.step, m.value) for m in client.get_metric_history(
            record.run_id, PREFIX + name))
        assert history == [(500, half.metrics[name]), (1000, full.metrics[name])]
    objective = {m.step: m.value for m in client.get_metric_history(record.run_id,
                                                                    PREFIX + "objective")}
    assert objective == {500: half.metrics["in_score"], 1000: record.objective}


def test_a_slurm_trial_evaluates_its_checkpoints_too(tmp_path, monkeypatch):
    """Through submitit's local executor (no cluster here): the job runs the same trial
    process, so the same hook; its checkpoints reach the file and the ledger."""
    pytest.importorskip("submitit")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the slurm launcher has no `env` of its own
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    model = build_tiny_qwen2vl(tmp_path / "model", seed=0)
    path = study_file(tmp_path, model, domains_with_tests(tmp_path / "domains"))
    data = yaml.safe_load(path.read_text())
    data["launcher"] = {"kind": "slurm", "executor": "local", "gpus_per_node": 0,
                        "time_min": 10}
    path.write_text(yaml.safe_dump(data))
    config = load_study_config(path)
    outcome = run_study(config, poll_interval_s=0.2)
    [record] = latest_attempts(outcome.trials)
    assert record.status is TrialStatus.COMPLETED, record.reason
    assert record.handle["kind"] == "slurm"
    folder = config.study_dir / "trials" / f"{record.index:03d}-a{record.attempt}"
    found = read_checkpoints(folder, record.run_id)
    assert [c.fraction for c in found] == [0.5, 1.0]
    assert read_result(eval_paths(folder, 0.5)[0]).step == 1
    client = ledger_of(config).client
    assert [m.step for m in client.get_metric_history(record.run_id, FIDELITY_METRIC)] \
        == [500, 1000]


def test_a_checkpoint_already_in_the_file_is_not_evaluated_again(tmp_path):
    trial_dir = tmp_path / "trial"
    trial_dir.mkdir()
    marker = tmp_path / "ran"
    trial = {"schema_version": 1, "run_id": "r1",
             "checkpoint_eval": [sys.executable, "-c",
                                 f"open({str(marker)!r}, 'w').write('x')"]}
    (trial_dir / "trial.json").write_text(json.dumps(trial))
    write_checkpoint(trial_dir, "r1", 0.5, {"in_score": 0.25})
    code, message = evaluate_trial_checkpoint(trial_dir / "trial.json", 0.5, tmp_path / "ck")
    assert code == 0 and "not evaluated again" in message and not marker.exists()
    # A failing evaluation is an exit code and its reason, and adds nothing to the file.
    trial["checkpoint_eval"] = [sys.executable, "-c", "import sys; sys.exit(4)"]
    (trial_dir / "trial.json").write_text(json.dumps(trial))
    code, message = evaluate_trial_checkpoint(trial_dir / "trial.json", 0.75, tmp_path / "ck")
    assert code == 4 and "mixopt eval exited with code 4" in message
    assert [c.fraction for c in read_checkpoints(trial_dir, "r1")] == [0.5]


def test_a_killed_local_trial_keeps_the_checkpoints_it_evaluated(tmp_path):
    """The launcher's cancel (what the driver does to a trial it stops early) during training,
    after the first checkpoint evaluation: the whole process group ends, before the trial
    trained to its end, and checkpoints.json keeps that checkpoint."""
    from mlflow.tracking import MlflowClient

    from studies.launchers.base import TrialSpec
    from studies.launchers.local import LocalLauncher, group_members
    from studies.trial_files import prepare_trial

    model = build_tiny_qwen2vl(tmp_path / "model", seed=0)
    path = study_file(tmp_path, model, domains_with_tests(tmp_path / "domains"))
    data = yaml.safe_load(path.read_text())
    data["search"]["fidelity"] = {"checkpoints": [0.25, 1.0]}
    data["train"].update(max_steps=8, budget=16)  # steps 2..8 are left after the checkpoint
    path.write_text(yaml.safe_dump(data))
    config = load_study_config(path)
    config.study_dir.mkdir(parents=True)
    client = MlflowClient(config.tracking_uri)
    run_id = client.create_run(client.create_experiment("kill")).info.run_id
    spec = TrialSpec(study=config.name, index=0, attempt=0, weights={MC: 0.5, BOX: 0.5},
                     seed=0, run_id=run_id, trial_dir=str(config.study_dir / "trials" / "000"))
    prepare_trial(config, spec)
    launcher = LocalLauncher(config.launcher, study_dir=config.study_dir, kill_grace_s=5.0)
    handle = launcher.submit(spec)
    folder = Path(spec.trial_dir)
    found = []
    for _ in range(3000):  # a guard against a hung trial, not a timing
        found = read_checkpoints(folder, run_id)
        if found or launcher.poll(handle).state != "running":
            break
        time.sleep(0.1)
    assert [c.fraction for c in found] == [0.25], (folder / "train.log").read_text()[-2000:]
    launcher.cancel(handle)
    assert group_members(handle["pid"]) == []
    assert not (folder / "outcome.json").exists()
    result = json.loads((folder / "train" / "train_result.json").read_text())
    assert not result["complete"]
    kept = read_checkpoints(folder, run_id)
    assert [c.fraction for c in kept] == [0.25] and set(kept[0].metrics) == {MC, BOX, "in_score"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_checkpoint_evaluation_dies_with_the_trainer_that_started_it(tmp_path):
    """A trainer killed alone (SIGKILL, not its process group) takes its checkpoint hook's
    evaluation along: the hook process and the `mixopt eval` it runs both end."""
    import signal
    import subprocess

    from studies.lock import pid_alive

    trial_dir = tmp_path / "trial"
    trial_dir.mkdir()
    eval_pid = tmp_path / "eval.pid"
    trial = {"schema_version": 1, "run_id": "r1", "checkpoint_eval": [
        sys.executable, "-c", f"import os, time; open({str(eval_pid)!r}, 'w').write("
        "str(os.getpid())); time.sleep(120)"]}
    (trial_dir / "trial.json").write_text(json.dumps(trial))
    hook_pid = tmp_path / "hook.pid"
    trainer = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-m', "
        f"'studies.checkpoint_eval', {str(trial_dir / 'trial.json')!r}, '--fraction', '0.5', "
        f"'--checkpoint', 'ck']); open({str(hook_pid)!r}, 'w').write(str(p.pid)); p.wait()")])
    for _ in range(600):  # a guard, not a timing
        if eval_pid.exists() and eval_pid.read_text():
            break
        time.sleep(0.05)
    pids = [int(hook_pid.read_text()), int(eval_pid.read_text())]
    assert all(pid_alive(p) for p in pids)
    trainer.send_signal(signal.SIGKILL)
    trainer.wait()
    for _ in range(200):
        if not any(pid_alive(p) for p in pids):
            break
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids)
