"""`accelerate launch --num_processes 2 mixopt train` for real: two processes (DDP over gloo on
CPU, the same launcher path NCCL takes on GPUs); rank 0 alone writes and logs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from rlvr.training import read_result
from studies.launchers.local import free_port
from tests.rlvr.training.conftest import tiny_job


def _launch(job_file: Path, processes: int, cwd: Path) -> subprocess.CompletedProcess:
    accelerate = Path(sys.executable).with_name("accelerate")
    mixopt = shutil.which("mixopt", path=str(Path(sys.executable).parent))
    if not accelerate.exists() or mixopt is None:
        pytest.fail("accelerate and mixopt must be installed in the test environment")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [str(accelerate), "launch", "--multi_gpu", "--num_processes", str(processes),
               "--num_machines", "1", "--main_process_port", str(free_port()),
               mixopt, "train", str(job_file)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def test_two_processes_train_once_and_rank_0_writes(tiny_model, domain_file, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    job = tiny_job(tiny_model, domain_file, tmp_path / "out", max_steps=2,
                   tracking={"mlflow_tracking_uri": uri})
    job = job.model_copy(update={"grpo": job.grpo.model_copy(update={"num_processes": 2})})
    job_file = tmp_path / "job.yaml"
    job_file.write_text(job.to_yaml(), encoding="utf-8")

    done = _launch(job_file, 2, tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    # (two ranks ran: run_training refuses a world size other than grpo.num_processes)
    result = read_result(tmp_path / "out")
    assert result.complete and result.steps == 2
    assert (Path(result.final_checkpoint) / "config.json").is_file()
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments)
    assert [r.info.run_id for r in runs] == [result.mlflow_run_id]
    assert client.get_metric_history(result.mlflow_run_id, "loss")
    assert done.stdout.count("final model:") == 1  # the summary is printed by rank 0 only


def test_a_process_count_other_than_the_job_s_is_refused(tiny_model, domain_file, tmp_path):
    job = tiny_job(tiny_model, domain_file, tmp_path / "out", max_steps=1,
                   tracking={"mlflow_tracking_uri": f"sqlite:///{tmp_path / 'm.db'}"})
    job_file = tmp_path / "job.yaml"
    job_file.write_text(job.to_yaml(), encoding="utf-8")  # grpo.num_processes: 1

    done = _launch(job_file, 2, tmp_path)

    assert done.returncode != 0
    assert "grpo.num_processes: 1 but 2 process(es) were launched" in done.stdout + done.stderr
    assert not (tmp_path / "out" / "train_result.json").exists()
