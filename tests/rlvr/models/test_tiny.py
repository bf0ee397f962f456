"""The tiny Qwen2-VL: builds, reloads, runs, is deterministic, caches, and trains with TRL."""

import os

# Never reach for a hub (read by huggingface_hub when first imported).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import Qwen2VLForConditionalGeneration, Qwen2VLProcessor

from rlvr.models import (
    TinyModelConfig,
    build_tiny_qwen2vl,
    ensure_tiny_qwen2vl,
    load_model_and_processor,
    read_recipe,
)
from rlvr.models.qwen2vl_tokens import IM_END, IMAGE_PAD, VIDEO_PAD, VISION_END, VISION_START
from tests.rlvr.models.small import SMALL_MODEL


def image_message(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def loaded(tiny_folder):
    return load_model_and_processor(str(tiny_folder))


def test_folder_is_a_canonical_qwen2vl_checkpoint(tiny_folder):
    names = {p.name for p in tiny_folder.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "processor_config.json",
        "chat_template.jinja",
    } <= names
    processor_config = json.loads((tiny_folder / "processor_config.json").read_text())
    # Canonical, so AutoProcessor loads it unchanged where torchvision is installed.
    assert processor_config["processor_class"] == "Qwen2VLProcessor"
    assert processor_config["video_processor"]["video_processor_type"] == "Qwen2VLVideoProcessor"
    tokenizer_config = json.loads((tiny_folder / "tokenizer_config.json").read_text())
    assert tokenizer_config["processor_class"] == "Qwen2VLProcessor"
    recipe = read_recipe(tiny_folder)
    assert recipe["recipe_hash"] == TinyModelConfig().recipe_hash() and recipe["seed"] == 0


def test_reloads_with_the_special_tokens_wired_into_the_config(loaded):
    model, processor = loaded
    assert isinstance(model, Qwen2VLForConditionalGeneration)
    assert isinstance(processor, Qwen2VLProcessor)
    ids = processor.tokenizer.convert_tokens_to_ids
    assert model.config.image_token_id == ids(IMAGE_PAD)
    assert model.config.video_token_id == ids(VIDEO_PAD)
    assert model.config.vision_start_token_id == ids(VISION_START)
    assert model.config.vision_end_token_id == ids(VISION_END)
    assert processor.tokenizer.eos_token == IM_END
    assert model.generation_config.eos_token_id[0] == ids(IM_END)
    assert model.config.get_text_config().vocab_size == len(processor.tokenizer)
    assert model.config.get_text_config().rope_parameters["mrope_section"] == [2, 3, 3]
    assert model.config._attn_implementation == "sdpa"
    assert 1_000_000 < sum(p.numel() for p in model.parameters()) < 5_000_000


def test_tokenizer_round_trips_task_text(loaded):
    tokenizer = loaded[1].tokenizer
    text = "<think> red circle </think> <answer> [12, 340, 560, 780] </answer> No Objects (B)"
    ids = tokenizer(text).input_ids
    assert tokenizer.decode(ids) == text
    # Qwen2's split regex: every digit its own token.
    assert tokenizer.tokenize("340") == ["3", "4", "0"]


def test_chat_template_processor_forward_and_generate(loaded):
    model, processor = loaded
    prompt = processor.apply_chat_template(
        image_message("Which shape is left of the red circle?"),
        add_generation_prompt=True,
        tokenize=False,
    )
    assert prompt.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert "<|vision_start|><|image_pad|><|vision_end|>Which shape" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")

    inputs = processor(
        images=[Image.new("RGB", (56, 56), "red")], text=[prompt], return_tensors="pt"
    )
    # 56 x 56 px = 4 x 4 patches of 14 px, merged 2 x 2: 4 image tokens.
    assert inputs["image_grid_thw"].tolist() == [[1, 4, 4]]
    assert inputs["pixel_values"].shape == (16, 3 * 2 * 14 * 14)
    assert (inputs["input_ids"] == model.config.image_token_id).sum() == 4

    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], len(processor.tokenizer))
    assert torch.isfinite(logits).all()

    generated = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert generated.shape == (1, inputs["input_ids"].shape[1] + 4)
    again = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert torch.equal(generated, again)


def test_same_seed_same_weights_and_global_rng_untouched(tiny_folder, tmp_path):
    rng_before = torch.random.get_rng_state()
    again = build_tiny_qwen2vl(tmp_path / "again", seed=0)
    other = build_tiny_qwen2vl(tmp_path / "other", seed=1)
    assert torch.equal(torch.random.get_rng_state(), rng_before)

    reference = load_file(tiny_folder / "model.safetensors")
    same = load_file(again / "model.safetensors")
    assert reference.keys() == same.keys()
    assert all(torch.equal(reference[name], same[name]) for name in reference)
    different = load_file(other / "model.safetensors")
    assert not all(torch.equal(reference[name], different[name]) for name in reference)
    # The tokenizer depends on the recipe, not on the seed.
    assert (tiny_folder / "tokenizer.json").read_text() == (other / "tokenizer.json").read_text()


def test_ensure_reuses_a_matching_folder_and_rebuilds_on_a_new_recipe(tmp_path):
    folder = ensure_tiny_qwen2vl(tmp_path, seed=3, config=SMALL_MODEL)
    marker = folder / "marker"
    marker.write_text("kept while the recipe matches")
    assert ensure_tiny_qwen2vl(tmp_path, seed=3, config=SMALL_MODEL) == folder
    assert marker.exists()

    changed = dataclasses.replace(SMALL_MODEL, corpus_samples=21)
    assert changed.recipe_hash() != SMALL_MODEL.recipe_hash()
    assert ensure_tiny_qwen2vl(tmp_path, seed=3, config=changed) == folder
    assert not marker.exists()
    assert read_recipe(folder)["recipe_hash"] == changed.recipe_hash()
    # Nothing left over from the staging folder.
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]


def test_interrupted_build_is_not_taken_as_cached(tmp_path):
    folder = ensure_tiny_qwen2vl(tmp_path, seed=0, config=SMALL_MODEL)
    (folder / "tiny_recipe.json").unlink()
    (folder / "marker").write_text("stale")
    ensure_tiny_qwen2vl(tmp_path, seed=0, config=SMALL_MODEL)
    assert not (folder / "marker").exists()


def test_config_reports_all_problems_at_once():
    with pytest.raises(ValueError, match="num_heads=3 must divide") as caught:
        TinyModelConfig(hidden_size=100, num_heads=3, num_kv_heads=2, max_pixels=28 * 28)
    message = str(caught.value)
    assert "num_kv_heads=2 must divide" in message and "max_pixels" in message


def test_grpo_trainer_runs_two_steps_on_the_tiny_model(tiny_folder, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    # A fresh copy: training changes the weights, and the folder (not a bare config) names the
    # model, which TRL needs for anything it loads by name (e.g. a reference model).
    model, processor = load_model_and_processor(str(tiny_folder))
    colours = ["red", "green", "blue", "yellow"]
    dataset = Dataset.from_dict(
        {
            "prompt": [image_message(f"What colour is the square? {c}") for c in colours],
            "image": [Image.new("RGB", (56, 56), c) for c in colours],
        }
    )

    def completion_length(completions, **columns):
        # Varies across a group, so the advantages and the gradient are not zero.
        return [float(len(completion[0]["content"])) for completion in completions]

    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=2,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=0,
    )
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=completion_length,
        args=args,
        train_dataset=dataset,
        # TRL would otherwise load the processor from the model's folder itself.
        processing_class=processor,
    )
    trainer.train()
    assert trainer.state.global_step == 2
    assert any("reward" in entry for entry in trainer.state.log_history)
    assert any(
        not torch.equal(before[name], p.detach()) for name, p in trainer.model.named_parameters()
    )
