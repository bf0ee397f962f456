"""float32 weights under bfloat16 autocast: the static KV cache gets keys and values of one dtype
(transformers 5.17 allocates both in the first keys' dtype; float32 keys then broke the first
value update of compiled decoding on the H200)."""

import torch
from transformers import GenerationConfig

from rlvr.models import load_model_and_processor
from rlvr.training.mixed_precision import rotary_in_autocast_dtype


def _generate_static(model, processor):
    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"
    inputs = tokenizer(["a red circle", "b"], return_tensors="pt", padding=True)
    config = GenerationConfig(
        max_new_tokens=3, do_sample=False, cache_implementation="static",
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.generate(**inputs, generation_config=config, return_dict_in_generate=True)
    layer = out.past_key_values.layers[0]
    return layer.keys.dtype, layer.values.dtype


def test_float32_model_under_autocast_caches_keys_in_float32_without_the_hook(tiny_model):
    model, processor = load_model_and_processor(tiny_model, dtype=torch.float32)
    keys, values = _generate_static(model, processor)
    assert (keys, values) == (torch.float32, torch.bfloat16)  # what breaks a one-dtype cache


def test_hook_makes_keys_and_values_bfloat16(tiny_model):
    model, processor = load_model_and_processor(tiny_model, dtype=torch.float32)
    assert rotary_in_autocast_dtype(model) == 1  # the text rotary embedding, not the vision one
    assert _generate_static(model, processor) == (torch.bfloat16, torch.bfloat16)


def test_hook_changes_nothing_outside_autocast(tiny_model):
    model, processor = load_model_and_processor(tiny_model, dtype=torch.float32)
    inputs = processor.tokenizer(["a red circle"], return_tensors="pt")
    with torch.no_grad():
        before = model(**inputs).logits
        rotary_in_autocast_dtype(model)
        after = model(**inputs).logits
    assert after.dtype == torch.float32
    assert torch.equal(before, after)
