"""GRPO generation never samples Qwen2-VL's vision markers (they break the next forward pass)."""

from __future__ import annotations

from transformers import GenerationConfig

from rlvr.models import load_model_and_processor
from rlvr.models.qwen2vl_tokens import (
    IM_END,
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_PAD,
    VISION_START,
)
from rlvr.training.run import suppress_vision_markers


def test_every_vision_marker_is_suppressed_and_trl_s_own_list_kept(tiny_model):
    _, processor = load_model_and_processor(tiny_model)
    tokenizer = processor.tokenizer
    config = GenerationConfig(suppress_tokens=[tokenizer.convert_tokens_to_ids(IMAGE_PAD)])

    ids = suppress_vision_markers(config, processor)

    markers = [VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD, VISION_PAD]
    assert ids == sorted(tokenizer.convert_tokens_to_ids(t) for t in markers)
    assert config.suppress_tokens == ids
    assert tokenizer.convert_tokens_to_ids(IM_END) not in ids  # the policy must still stop


def test_a_config_without_a_list_gets_one(tiny_model):
    _, processor = load_model_and_processor(tiny_model)
    config = GenerationConfig()
    assert len(suppress_vision_markers(config, processor)) == 5


def test_vllm_sampling_options_forbid_every_vision_marker_and_keep_a_users_bias(tiny_model):
    from rlvr.training.run import VLLM_FORBIDDEN_BIAS, suppress_vision_markers_in_vllm

    _, processor = load_model_and_processor(tiny_model)
    tokenizer = processor.tokenizer
    eos = tokenizer.convert_tokens_to_ids(IM_END)
    options = {"logit_bias": {eos: 1.5}, "seed": 3}

    assert suppress_vision_markers_in_vllm(options, processor) is options

    markers = [VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD, VISION_PAD]
    expected = {tokenizer.convert_tokens_to_ids(t): VLLM_FORBIDDEN_BIAS for t in markers}
    assert options == {"logit_bias": {eos: 1.5, **expected}, "seed": 3}
    assert "suppress_tokens" not in options  # not a vLLM SamplingParams field
