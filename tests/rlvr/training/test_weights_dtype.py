"""The policy's master weights are float32 by default, also for a bfloat16 checkpoint: at the
reference's learning rate (1e-6) AdamW steps vanish when added to bfloat16 weights."""

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from rlvr.models import load_model_and_processor
from rlvr.training import run_training
from rlvr.training.run import weights_dtype
from tests.rlvr.training.conftest import tiny_job
from tests.rlvr.training.test_run import LANGUAGE_WEIGHT


def text_length(completions, **columns):
    """Shaping reward for this test: characters written, which differ within nearly every
    group of a random policy (a nonzero policy gradient from the first step)."""
    return [float(len(c[0]["content"])) for c in completions]


class RecordDtype(TrainerCallback):
    def __init__(self):
        self.dtypes = set()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.dtypes = {p.dtype for p in model.parameters() if p.requires_grad}


@pytest.fixture(scope="module")
def bf16_checkpoint(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bf16-model")
    model, processor = load_model_and_processor(tiny_model)
    model.to(torch.bfloat16).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _train(checkpoint, domain_file, mlflow_uri, out, dtype):
    job = tiny_job(
        checkpoint, domain_file, out, max_steps=1,
        tracking={"mlflow_tracking_uri": mlflow_uri},
    )
    job = job.model_copy(update={
        "grpo": job.grpo.model_copy(update={"learning_rate": 1e-6, "weights_dtype": dtype})
    })
    record = RecordDtype()
    result = run_training(job, extra_rewards=[text_length], callbacks=[record])
    before = load_file(str(checkpoint / "model.safetensors"))[LANGUAGE_WEIGHT].float()
    after = load_file(f"{result.final_checkpoint}/model.safetensors")[LANGUAGE_WEIGHT].float()
    return record.dtypes, (after != before).float().mean().item()


def test_float32_master_weights_learn_at_1e_6_where_bfloat16_ones_do_not(
    bf16_checkpoint, domain_file, mlflow_uri, tmp_path
):
    dtypes, changed = _train(bf16_checkpoint, domain_file, mlflow_uri, tmp_path / "f32", "float32")
    assert dtypes == {torch.float32}
    assert changed > 0.5  # Adam moves nearly every weight by ~lr

    dtypes, changed = _train(bf16_checkpoint, domain_file, mlflow_uri, tmp_path / "bf16", "auto")
    assert dtypes == {torch.bfloat16}  # "auto" keeps the checkpoint's dtype
    assert changed < 0.05  # the same steps are rounded away


def test_weights_dtype_mapping(tiny_model, domain_file, tmp_path):
    job = tiny_job(tiny_model, domain_file, tmp_path)
    assert weights_dtype(job) is torch.float32
    for name, expected in (("bfloat16", torch.bfloat16), ("auto", "auto")):
        other = job.model_copy(update={"grpo": job.grpo.model_copy(update={"weights_dtype": name})})
        assert weights_dtype(other) == expected
