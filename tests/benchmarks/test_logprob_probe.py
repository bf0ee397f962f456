"""`benchmarks/logprob_probe.py` on CPU: the probe that the next GPU session runs inside GRPO
steps (issue 17) finds a gap planted between the sampler's and the trainer's log-probs, and
agrees with itself where there is none (batched vs one-by-one, TRL's fused head vs plain)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported

import pytest
from PIL import Image

from benchmarks.logprob_probe import probe_batch
from rlvr.models import load_model_and_processor
from rlvr.models.warm_start import PREBUILT_DIR, WarmStartRecipe, warm_start_folder

PLANTED = 0.1  # nats per token


def test_the_probe_finds_a_planted_gap_in_a_real_grpo_batch(tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    class Probed(GRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            old = output["old_per_token_logps"]
            self.reports.append(probe_batch(self, {
                **output, "sampling_per_token_logps": old - PLANTED}))
            return output

    folder = warm_start_folder(PREBUILT_DIR, seed=0, recipe=WarmStartRecipe())
    model, processor = load_model_and_processor(str(folder))
    colours = ["red", "green", "blue", "yellow"]
    prompt = [{"role": "user", "content": [{"type": "image"},
                                           {"type": "text", "text": "What colour is it?"}]}]
    dataset = Dataset.from_dict({"prompt": [prompt] * 4,
                                 "image": [Image.new("RGB", (56, 56), c) for c in colours]})
    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"), use_cpu=True, bf16=False,
        gradient_checkpointing=False, per_device_train_batch_size=4, num_generations=4,
        steps_per_generation=2,  # so TRL computes the old log-probs the probe compares
        max_completion_length=12, max_steps=1, logging_steps=1, save_strategy="no",
        report_to=[], seed=0)
    trainer = Probed(model=model, reward_funcs=lambda completions, **_: [
        float(len(c[0]["content"])) for c in completions], args=args, train_dataset=dataset,
        processing_class=processor)
    trainer.reports = []
    trainer.train()
    (report,) = trainer.reports
    assert "error" not in report and report["pixel_values_in_batch"]
    assert report["mean_diff"] == pytest.approx(PLANTED, abs=1e-3)
    assert report["signed_mean_old_minus_sampling"] == pytest.approx(PLANTED, abs=1e-3)
    assert all(n > 0 for n in report["image_pad_tokens_per_prompt"])
    assert report["samples"]
    for row in report["samples"]:
        assert row["images"] == 1
        assert row["batched_vs_vllm"] == pytest.approx(PLANTED, abs=1e-3)
        # One sample unpadded scores as the padded batch did, and the fused head as plain
        # float32 log-softmax: on CPU in float32 the trainer's paths agree.
        assert row["single_fused_vs_batched"] < 1e-3
        assert row["single_plain_vs_fused"] < 1e-3
