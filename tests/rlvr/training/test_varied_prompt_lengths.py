"""GRPO on prompts of different token lengths (one image size), several steps per generation.

Regression test for ``RuntimeError: shape mismatch: value tensor of shape [3, N+k] cannot be
broadcast to indexing result of shape [3, N]`` raised in Qwen2-VL's ``get_rope_index`` from TRL's
``_get_per_token_logps_and_entropies``. TRL left-pads ``prompt_ids`` but takes
``mm_token_type_ids`` from a second processor call that pads on the tokenizer's
``padding_side``; Qwen2-VL checkpoints (and our tiny model) pad on the right, so the two
disagree for every prompt shorter than the longest of its generation batch. Equal-length
prompts are never padded, hence never crash. Upstream: huggingface/trl#5785; our fix:
`rlvr.training.run.prepare_processor_for_training` (left padding).
"""

import pytest
import yaml
from PIL import Image

from rlvr.job import TrainJob
from rlvr.models import TinyModelConfig, build_tiny_qwen2vl, load_model_and_processor
from rlvr.training import run_training
from rlvr.training.run import prepare_processor_for_training
from tests.rlvr.domains.standins import image_bytes, write_jsonl
from tests.rlvr.training.test_run import digit_count

DOMAIN = "toyvaried"
# 448x448 pixels: a 32x32 patch grid, 256 <|image_pad|> tokens after the 2x2 merge (the default
# tiny model caps images at 112x112, 16 tokens). A row crashes when its padding cuts its image
# tokens in two: when the padding is longer than the text before the image (15 tokens) but
# shorter than that text and the image (271): any two of these prompts (26 to 289 tokens, at
# least 24 apart) in one generation batch crash.
IMAGE_SIZE = (448, 448)
WORDS = [3, 24, 9, 44, 16, 38, 31, 48]


@pytest.fixture(scope="module")
def large_image_model(tmp_path_factory):
    config = TinyModelConfig(max_pixels=IMAGE_SIZE[0] * IMAGE_SIZE[1])
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny448") / "model", seed=0, config=config)


@pytest.fixture(scope="module")
def varied_domain_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("varied")
    rows = [
        {
            "image": image_bytes(IMAGE_SIZE, color=25 * i),
            "problem": " ".join(f"word{j}" for j in range(n)) + "? Give one box.",
            "solution": "<answer>[100, 200, 300, 400]</answer>",
        }
        for i, n in enumerate(WORDS)
    ]
    jsonl, images = write_jsonl(folder / "data", rows)
    spec = {
        DOMAIN: {
            "source": {"kind": "jsonl", "path": str(jsonl), "image_dir": str(images)},
            "answer_type": "box",
            "rewards": {"format": 1.0, "iou_grounding": 2.0},
        }
    }
    path = folder / "domains.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("steps_per_generation", [1, 2])
def test_prompts_of_different_lengths_train_four_steps(
    large_image_model, varied_domain_file, mlflow_uri, tmp_path, steps_per_generation
):
    job = TrainJob.model_validate(
        {
            "model": str(large_image_model),
            "domain_files": [str(varied_domain_file)],
            "domains": {DOMAIN: 1.0},
            "budget": 8,
            "max_steps": 4,
            "seed": 0,
            "output_dir": str(tmp_path / "out"),
            "save_steps": 100,
            "tracking": {"mlflow_tracking_uri": mlflow_uri},
            "grpo": {
                "learning_rate": 1e-2,
                "warmup_ratio": 0.0,
                "beta": 0.0,
                "num_generations": 2,
                "per_device_train_batch_size": 4,
                "gradient_accumulation_steps": 1,
                "steps_per_generation": steps_per_generation,
                "max_completion_length": 4,
            },
        }
    )
    result = run_training(job, extra_rewards=[digit_count])
    assert result.complete and result.steps == 4


def test_training_processor_pads_mm_token_type_ids_like_trl_pads_prompt_ids(large_image_model):
    """The per-token multimodal fields must line up with TRL's left-padded ``prompt_ids``."""
    _, processor = load_model_and_processor(str(large_image_model))
    processor = prepare_processor_for_training(processor)
    image = Image.new("RGB", IMAGE_SIZE)
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        for text in ("short", " ".join(["long"] * 40))
    ]
    batch = processor(images=[[image], [image]], text=texts, padding=True, return_tensors="pt")
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert (batch["attention_mask"][:, -1] == 1).all()  # left padding: every row ends in a token
    assert ((batch["input_ids"] == image_pad) == (batch["mm_token_type_ids"] == 1)).all()
