"""Turn an out-of-memory failure during training into one line that names what to change."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from rlvr.training.errors import TrainingOutOfMemoryError

MEMORY_KNOBS = (
    "grpo.per_device_train_batch_size (with gradient_accumulation_steps up to keep the batch)",
    "grpo.num_generations",
    "grpo.max_completion_length",
    "grpo.gradient_checkpointing: true",
    "lora (train adapters, not the full model)",
    "grpo.beta: 0 (no reference model)",
    "generation.gpu_memory_utilization (vllm-colocate)",
)


def is_out_of_memory(error: BaseException) -> bool:
    """True for CUDA's `OutOfMemoryError` and the CPU allocator's "out of memory" RuntimeError."""
    if isinstance(error, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def out_of_memory_message(error: BaseException) -> str:
    """One line: that memory ran out (first line of ``error``), and the knobs that reduce it."""
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    detail = f" ({first[:160]})" if first else ""
    return (
        f"training ran out of memory{detail}; to use less, lower or set in the job: "
        f"{'; '.join(MEMORY_KNOBS)}"
    )


@contextlib.contextmanager
def out_of_memory_as_error() -> Iterator[None]:
    """Re-raise an out-of-memory failure inside the block as `TrainingOutOfMemoryError`.

    Raises:
        TrainingOutOfMemoryError: the block ran out of memory (the original is the cause).
    """
    try:
        yield
    except (RuntimeError, MemoryError) as error:  # torch.cuda.OutOfMemoryError is a RuntimeError
        if not is_out_of_memory(error):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # so that the caller's clean-up does not fail as well
        raise TrainingOutOfMemoryError(out_of_memory_message(error)) from error
