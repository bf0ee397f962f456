"""Out-of-memory failures end in one line naming the knobs that reduce memory."""

import pytest
import torch

from rlvr.training import TrainingOutOfMemoryError
from rlvr.training.out_of_memory import out_of_memory_as_error


@pytest.mark.parametrize(
    "error",
    [torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB\nmore"),
     RuntimeError("DefaultCPUAllocator: can't allocate memory: out of memory")],
)
def test_out_of_memory_names_the_knobs(error):
    with pytest.raises(TrainingOutOfMemoryError) as caught, out_of_memory_as_error():
        raise error
    message = str(caught.value)
    assert "\n" not in message and caught.value.__cause__ is error
    for knob in ("per_device_train_batch_size", "num_generations", "max_completion_length",
                 "gradient_checkpointing", "lora", "gpu_memory_utilization"):
        assert knob in message


def test_other_errors_pass_through():
    with pytest.raises(RuntimeError, match="shape mismatch"), out_of_memory_as_error():
        raise RuntimeError("shape mismatch")
