"""`mixopt eval`: end to end on the tiny model (CliRunner), and one-line errors (exit 2)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported

import subprocess
import sys
from pathlib import Path

import datasets
import huggingface_hub
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from evaluators import read_result, read_samples
from rlvr.models import build_tiny_qwen2vl
from studies.cli import app, main
from tests.evaluators.conftest import BOX, MC, TRAIN_ONLY, write_eval_domains


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def domain_file(tmp_path_factory):
    return write_eval_domains(tmp_path_factory.mktemp("eval-domains"))


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def run_main(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    captured = capsys.readouterr()
    return caught.value.code, captured.out, captured.err.strip()


def test_eval_writes_the_result_the_samples_and_mlflow_metrics(
    tmp_path, tiny_model, domain_file, mlflow_uri
):
    client = MlflowClient(tracking_uri=mlflow_uri)
    run_id = client.create_run(client.create_experiment("cli-eval")).info.run_id
    out = tmp_path / "eval" / "eval.json"
    args = ["eval", "--checkpoint", str(tiny_model), "--benchmarks", f"{MC}, {BOX}",
            "--limit", "2", "--max-new-tokens", "4", "--out", str(out), "--samples",
            "--domain-file", str(domain_file), "--step", "9",
            "--mlflow-run", run_id, "--mlflow-tracking-uri", mlflow_uri]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    result = read_result(out)
    assert list(result.benchmarks) == [MC, BOX] and result.step == 9
    assert {b.n for b in result.benchmarks.values()} == {2}
    assert len(read_samples(out.with_name("eval.samples.jsonl"))) == 4
    assert MC in outcome.output and "in_score" in outcome.output
    metrics = client.get_run(run_id).data.metrics
    # the names a study reads (outcome.json, the trial's run, status --json): one per score
    assert metrics["in_score"] == pytest.approx(result.objectives["in_score"])
    assert metrics[MC] == pytest.approx(result.benchmarks[MC].score)
    assert metrics[BOX] == pytest.approx(result.benchmarks[BOX].score)
    assert not [k for k in metrics if k.startswith("eval.")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--benchmarks", "atlantis"], "unknown benchmark 'atlantis'; benchmarks: "),
     (["--benchmarks", TRAIN_ONLY], f"domain '{TRAIN_ONLY}' has no test split"),
     (["--benchmarks", MC, "--samples-per-prompt", "2"], "needs do_sample"),
     (["--benchmarks", MC, "--backend", "vllm"], "vllm"),
     (["--benchmarks", MC, "--mlflow-run", "0123abc"], "Run with id=0123abc not found")],
)
def test_bad_input_is_one_red_line(tmp_path, capsys, tiny_model, domain_file, mlflow_uri,
                                   extra, message):
    argv = ["eval", "--checkpoint", str(tiny_model), "--domain-file", str(domain_file),
            "--out", str(tmp_path / "eval.json"), "--mlflow-tracking-uri", mlflow_uri, *extra]
    code, _, err = run_main(argv, capsys)
    assert code == 2 and "\n" not in err and message in err, err
    assert not (tmp_path / "eval.json").exists()


def test_checkpoint_without_processor(tmp_path, capsys, tiny_model, domain_file):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((tiny_model / "config.json").read_text())
    code, _, err = run_main(["eval", "--checkpoint", str(bare), "--benchmarks", MC,
                             "--domain-file", str(domain_file)], capsys)
    assert code == 2 and "\n" not in err and "holds no processor" in err


def test_console_script_missing_checkpoint_exits_2_with_one_line(tmp_path, domain_file):
    script = Path(sys.executable).with_name("mixopt")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [str(script), "eval", "--checkpoint", str(tmp_path / "missing"), "--benchmarks", MC,
         "--domain-file", str(domain_file), "--out", str(tmp_path / "eval.json")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: no model folder at {tmp_path / 'missing'}"]
    assert not (tmp_path / "eval.json").exists()


def test_option_defaults_copied_from_evaluators_stay_equal():
    # The CLI copies them to start without importing evaluators (torch): a drift fails here.
    from evaluators.lmms import DEFAULT_MODEL, EXTRACTIONS
    from studies.cli import eval as eval_cli

    assert eval_cli.LMMS_DEFAULT_MODEL == DEFAULT_MODEL
    assert tuple(eval_cli.MATHVISTA_EXTRACTIONS) == tuple(EXTRACTIONS)
