"""`run_training` end to end on CPU: a few real GRPO steps of the tiny model on two domains."""

import json

import pytest
from mlflow.tracking import MlflowClient
from safetensors.torch import load_file
from transformers import TrainerCallback

from rlvr.models import load_model_and_processor
from rlvr.training import (
    FINAL_DIR,
    RESULT_FILE,
    OutputDirConflictError,
    ResultFileError,
    TrainResult,
    read_result,
    run_training,
    write_result,
)
from tests.rlvr.training.conftest import BOX_DOMAIN, MC_DOMAIN, tiny_job

# Names as saved on disk (transformers keeps Qwen2-VL's checkpoint layout).
LANGUAGE_WEIGHT = "model.layers.0.self_attn.q_proj.weight"


def digit_count(completions, **columns):
    """Shaping reward, for these smoke tests only: a random tiny model almost never writes the
    `<think>/<answer>` format, so the domains' rewards are all 0, every group has zero reward
    variance and GRPO's gradient is exactly 0. Counting digits varies within a group and
    gives a real, nonzero policy gradient through the same trainer path."""
    return [float(sum(ch.isdigit() for ch in c[0]["content"])) for c in completions]


class StopAtStep(TrainerCallback):
    """Simulates a killed run: raises when the trainer finishes step ``step``."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt(f"killed at step {self.step}")


@pytest.fixture(scope="module")
def trained(tiny_model, domain_file, mlflow_uri, tmp_path_factory):
    job = tiny_job(tiny_model, domain_file, tmp_path_factory.mktemp("run") / "out", budget=8,
                   tracking={"mlflow_tracking_uri": mlflow_uri, "experiment_name": "smoke"})
    return job, run_training(job, extra_rewards=[digit_count])


def test_the_language_model_learns_and_the_vision_tower_stays_frozen(trained, tiny_model):
    job, _ = trained
    before = load_file(tiny_model / "model.safetensors")
    after = load_file(job.output_dir / FINAL_DIR / "model.safetensors")
    assert not (before[LANGUAGE_WEIGHT] == after[LANGUAGE_WEIGHT]).all()
    visual = [name for name in before if name.startswith("visual.")]
    assert visual and all((before[name] == after[name]).all() for name in visual)
    # The final folder loads like any checkpoint (for evaluation).
    model, processor = load_model_and_processor(str(job.output_dir / FINAL_DIR))
    assert processor.tokenizer is not None and model.config.model_type == "qwen2_vl"


def test_result_file_counts_every_prompt_once(trained):
    job, result = trained
    on_disk = json.loads((job.output_dir / RESULT_FILE).read_text())
    assert on_disk["schema_version"] == 1 and on_disk["complete"] is True
    assert TrainResult(**on_disk) == result
    # 8 prompts x 2 completions, 4 completions per step: 4 steps.
    assert result.steps == 4 and result.resumed_from is None
    assert result.samples["counts"] == {MC_DOMAIN: 4, BOX_DOMAIN: 4}
    assert sum(result.samples["counts"].values()) == job.budget
    assert result.bad_records[MC_DOMAIN]["bad"] == 0 and result.runtime_seconds > 0
    assert result.final_checkpoint == str(job.output_dir / FINAL_DIR)


def test_the_model_card_names_the_base_model_and_the_mixture(trained):
    job, _ = trained
    card = (job.output_dir / FINAL_DIR / "README.md").read_text()
    assert f"base_model: {job.model}" in card and f"| {MC_DOMAIN} | 0.5 |" in card
    assert "None" not in card


def test_mlflow_run_holds_the_curves_and_the_mixture(trained, mlflow_uri):
    _, result = trained
    client = MlflowClient(mlflow_uri)
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "smoke"
    params = run.data.params
    assert params[f"w.{MC_DOMAIN}"] == "0.5" and params[f"n.{BOX_DOMAIN}"] == "4"
    assert params["budget"] == "8" and params["seed"] == "0"
    for metric in ("loss", "reward", "rewards/domain_reward/mean", "rewards/digit_count/mean"):
        history = client.get_metric_history(result.mlflow_run_id, metric)
        assert [m.step for m in history] == [1, 2, 3, 4], metric
    by_domain = f"rewards/by_domain/{MC_DOMAIN}/mean"
    assert client.get_metric_history(result.mlflow_run_id, by_domain)


def test_a_complete_run_is_not_run_again_and_another_job_is_refused(trained):
    job, result = trained
    assert run_training(job) == result  # returns at once: nothing is loaded
    (job.output_dir / RESULT_FILE).unlink()
    other = job.model_copy(update={"seed": 1})
    with pytest.raises(OutputDirConflictError, match="differs in seed"):
        run_training(other)
    write_result(result, job.output_dir)


def test_a_killed_run_resumes_from_its_last_checkpoint(tiny_model, domain_file, mlflow_uri,
                                                       tmp_path):
    job = tiny_job(tiny_model, domain_file, tmp_path / "out", max_steps=2, save_steps=1,
                   tracking={"mlflow_tracking_uri": mlflow_uri})
    with pytest.raises(KeyboardInterrupt):
        run_training(job, extra_rewards=[digit_count], callbacks=[StopAtStep(2)])
    interrupted = read_result(job.output_dir)
    assert not interrupted.complete
    assert sorted(p.name for p in job.output_dir.glob("checkpoint-*")) == ["checkpoint-1"]
    client = MlflowClient(mlflow_uri)
    assert client.get_run(interrupted.mlflow_run_id).info.status == "FAILED"

    resumed = run_training(job, extra_rewards=[digit_count])
    assert resumed.complete and resumed.steps == 2
    # The card TRL writes at every checkpoint is ours: no link to "None".
    card = (job.output_dir / "README.md").read_text()
    assert "huggingface.co/None" not in card and f"`{job.model}`" in card
    assert resumed.resumed_from == str(job.output_dir / "checkpoint-1")
    # Same MLflow run, continued: the resumed attempt logs from step 2 on.
    assert resumed.mlflow_run_id == interrupted.mlflow_run_id
    assert client.get_run(resumed.mlflow_run_id).info.status == "FINISHED"
    steps = {m.step for m in client.get_metric_history(resumed.mlflow_run_id, "loss")}
    assert steps == {1, 2}


def test_result_file_rejects_other_versions(tmp_path):
    (tmp_path / RESULT_FILE).write_text(json.dumps({"schema_version": 2}))
    with pytest.raises(ResultFileError, match="schema_version 2"):
        read_result(tmp_path)
    assert read_result(tmp_path / "missing") is None


def test_a_run_without_signal_warns_and_prints_plain_progress(tiny_model, domain_file, mlflow_uri,
                                                              tmp_path, caplog, capsys):
    # The random tiny model never writes the answer format: every reward is 0.
    job = tiny_job(tiny_model, domain_file, tmp_path / "out", max_steps=2,
                   tracking={"mlflow_tracking_uri": mlflow_uri})
    with caplog.at_level("WARNING", logger="rlvr.training.zero_signal"):
        result = run_training(job)
    assert result.complete
    warnings = [r.getMessage() for r in caplog.records if "no learning signal" in r.getMessage()]
    assert len(warnings) == 1 and "in all 2 logged steps" in warnings[0]
    assert f"max_completion_length {job.grpo.max_completion_length}" in warnings[0]
    # stderr is not a terminal here: the last step gets its plain line.
    assert "training: step 2/2 (100%), loss " in capsys.readouterr().err
