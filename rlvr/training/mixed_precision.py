"""float32 master weights under bfloat16 autocast: make Qwen2-VL's static KV cache work.

With float32 weights (`grpo.weights_dtype: float32`, the default) and bf16 mixed precision,
autocast runs the key and value projections in bfloat16, but Qwen2-VL's text rotary embedding
returns cos/sin in the dtype of the (float32) hidden states, so the rotated keys come out in
float32 while the values stay bfloat16. A dynamic KV cache stores each as it comes; the static
cache of compiled decoding (`generation.compile_decoding`) is allocated in one dtype, taken from
the first keys, and its first value update fails::

    RuntimeError: index_copy_(): self and source expected to have the same dtype, but got
    (self) Float and (source) BFloat16

(found by the first float32 run of `mixopt train` on the H200). A model in bfloat16 has
bfloat16 cos/sin: `rotary_in_autocast_dtype` gives the float32 model the same, under autocast
only, so keys and values agree and the model computes what its bfloat16 copy would.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def rotary_in_autocast_dtype(model: nn.Module) -> int:
    """Cast the outputs of ``model``'s text rotary embeddings to the autocast dtype when autocast
    is on (a forward hook; outside autocast nothing changes).

    Text rotary embeddings are the modules named ``rotary_emb`` whose forward returns a
    ``(cos, sin)`` pair (the vision tower's returns one tensor of frequencies and is left alone).

    Returns:
        The number of modules hooked.
    """
    hooked = 0
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] == "rotary_emb" and "visual" not in name.split("."):
            module.register_forward_hook(_cast_to_autocast_dtype)
            hooked += 1
    return hooked


def _cast_to_autocast_dtype(module: nn.Module, args: Any, output: Any) -> Any:
    if not (isinstance(output, tuple) and len(output) == 2):
        return output
    device_type = output[0].device.type
    if not torch.is_autocast_enabled(device_type):
        return output
    dtype = torch.get_autocast_dtype(device_type)
    return tuple(tensor.to(dtype) for tensor in output)
