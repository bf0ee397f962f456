"""The slurm launcher through submitit's local executor (no Slurm cluster here)."""

from __future__ import annotations

import pytest

from mixopt.errors import MixoptError
from studies.config import SlurmLauncher as SlurmSettings
from studies.config import load_study_config
from studies.driver import run_study
from studies.launchers.slurm import SlurmLauncher
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import FAKE_MIXOPT, local_study

pytest.importorskip("submitit")
pytestmark = pytest.mark.slow


def test_a_study_through_submitit_local_executor(tmp_path):
    import sys

    launcher = {"kind": "slurm", "executor": "local", "gpus_per_node": 0, "time_min": 5,
                "mixopt_command": [sys.executable, str(FAKE_MIXOPT)]}
    config = load_study_config(local_study(tmp_path, launcher=launcher, max_trials=3))
    outcome = run_study(config, poll_interval_s=0.2)
    latest = latest_attempts(outcome.trials)
    assert [r.status for r in latest] == [TrialStatus.COMPLETED] * 3
    assert all(r.handle["kind"] == "slurm" and r.handle["job_id"] for r in latest)
    assert (config.study_dir / "submitit").is_dir()


def test_without_srun_the_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MixoptError, match=r"srun.*executor: local"):
        SlurmLauncher(SlurmSettings(), study_dir=tmp_path)


def test_slurm_parameters_reach_submitit(tmp_path, monkeypatch):
    from submitit.slurm import slurm

    monkeypatch.setattr(slurm.SlurmExecutor, "affinity", classmethod(lambda cls: 1))
    settings = SlurmSettings(partition="gpu", account="lab", gpus_per_node=4, cpus_per_task=16,
                             mem_gb=200, time_min=600, extra={"qos": "high"})
    launcher = SlurmLauncher(settings, study_dir=tmp_path)
    params = launcher.executor._executor.parameters
    assert params["partition"] == "gpu" and params["account"] == "lab"
    assert params["gpus_per_node"] == 4 and params["cpus_per_task"] == 16
    assert params["time"] == 600 and params["additional_parameters"] == {"qos": "high"}
