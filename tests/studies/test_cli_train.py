"""`mixopt train`: job files and the quick form; user mistakes end in one line and exit 2.

The real training path is tested in tests/rlvr/training/test_run.py; here only what the
command adds (job building, the job file, error translation) is checked, with one tiny run
for what a rerun of a complete job says.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported

import importlib.util

import datasets
import huggingface_hub
import pytest
import yaml

from rlvr.job import load_job, save_job
from rlvr.models import build_tiny_qwen2vl
from rlvr.training import JOB_RECORD
from studies.cli import main
from studies.cli.train import QUICK_JOB_FILE
from tests.rlvr.training.conftest import BOX_DOMAIN, MC_DOMAIN, tiny_job, write_domains


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def domain_file(tmp_path_factory):
    return write_domains(tmp_path_factory.mktemp("domains"), size=4)


def run_main(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    captured = capsys.readouterr()
    return caught.value.code, captured.out, captured.err.strip()


def write_job(path, **fields):
    data = {"model": "./model", "domains": {"sat": 0.5, "lisa": 0.5}, "budget": 8,
            "output_dir": "out"}
    data.update(fields)
    path.write_text(yaml.safe_dump(data))
    return path


def test_job_file_errors_are_one_line_with_every_problem(tmp_path, capsys):
    job = write_job(tmp_path / "job.yaml", domains={"sat": 0.5, "nope": 0.2}, budget=0)
    code, _, err = run_main(["train", str(job)], capsys)
    assert code == 2 and "\n" not in err
    assert "domains: weights must sum to 1" in err and "budget" in err


def test_missing_model_is_one_line(tmp_path, capsys, domain_file):
    job = write_job(tmp_path / "job.yaml", domain_files=[str(domain_file)],
                    domains={MC_DOMAIN: 0.5, BOX_DOMAIN: 0.5})
    code, _, err = run_main(["train", str(job)], capsys)
    assert code == 2 and "\n" not in err and "no model folder at" in err


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_vllm_backend_without_vllm_says_how_to_install(tmp_path, capsys):
    job = write_job(tmp_path / "job.yaml", generation={"backend": "vllm-server"})
    code, _, err = run_main(["train", str(job)], capsys)
    assert code == 2 and "pip install 'mixopt[gpu]'" in err and "\n" not in err


@pytest.mark.parametrize(
    ("mixture", "message"),
    [("sat=0.5;lisa=0.5", "expected name=weight"), ("sat=x", "expected name=weight"),
     ("sat=0.5,sat=0.5", "given twice"), ("sat=0.5,atlantis=0.5", "unknown domain(s) 'atlantis'"),
     ("sat=0.5,lisa=0.2", "weights must sum to 1")],
)
def test_quick_form_mixture_errors(tmp_path, capsys, mixture, message):
    code, _, err = run_main(["train", "--model", "m", "--mixture", mixture, "--budget", "4",
                             "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_quick_form_writes_a_job_file_that_reruns(tmp_path, capsys, domain_file):
    out = tmp_path / "out"
    code, stdout, err = run_main(
        ["train", "--model", str(tmp_path / "no-model"), "--domain-file", str(domain_file),
         "--mixture", f"{MC_DOMAIN}=0.5,{BOX_DOMAIN}=0.5",
         "--budget", "8", "--seed", "3", "--max-steps", "2", "--output-dir", str(out),
         "--mlflow-tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"],
        capsys,
    )
    assert code == 2 and "no model folder at" in err  # fails after writing the job
    assert f"job written to {out / 'train_job.yaml'}" in stdout
    # The trainer's own record of the job: one job file in the folder, not two.
    assert QUICK_JOB_FILE == JOB_RECORD and [p.name for p in out.iterdir()] == [JOB_RECORD]
    job = load_job(out / JOB_RECORD)
    assert job.domains == {MC_DOMAIN: 0.5, BOX_DOMAIN: 0.5} and job.budget == 8
    assert job.seed == 3 and job.domain_files == (domain_file,)
    assert job.max_steps == 2 and job.output_dir == out
    assert job.tracking.mlflow_tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"


def test_job_file_and_quick_options_together_are_refused(tmp_path, capsys):
    code, _, err = run_main(["train", str(tmp_path / "job.yaml"), "--budget", "3"], capsys)
    assert code == 2 and "either JOB.yaml or the quick form" in err
    code, _, err = run_main(["train", "--model", "m"], capsys)
    assert code == 2 and "--mixture, --budget" in err


def test_a_rerun_of_a_complete_job_says_there_is_nothing_to_do(tmp_path, capsys, domain_file):
    model = build_tiny_qwen2vl(tmp_path / "model", seed=0)
    job = tiny_job(model, domain_file, tmp_path / "out", max_steps=1,
                   tracking={"mlflow_tracking_uri": f"sqlite:///{tmp_path}/mlflow.db"})
    path = save_job(job, tmp_path / "job.yaml")
    code, stdout, _ = run_main(["train", str(path)], capsys)
    assert code == 0 and "trained 1 steps" in stdout
    code, stdout, _ = run_main(["train", str(path)], capsys)
    assert code == 0 and "already trained, nothing to do" in stdout
    assert "trained 1 steps in" not in stdout  # not the old timing again
