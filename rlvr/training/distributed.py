"""Which process of an `accelerate launch` (torchrun) group this is, and which GPUs it uses."""

from __future__ import annotations

import os
import warnings
from collections.abc import MutableMapping

import torch

from rlvr.training.errors import ProcessCountError


def is_main_process() -> bool:
    """True in a single process and in rank 0 of a launched group (torchrun sets ``RANK``):
    the one process that writes result files, logs to MLflow and prints summaries."""
    return int(os.environ.get("RANK", "0")) == 0


def one_gpu_for_a_single_process(environ: MutableMapping[str, str] | None = None) -> int | None:
    """Narrow a single (not launched) process that sees several GPUs to the first of them.

    transformers' `Trainer` wraps the model in ``nn.DataParallel`` when one process sees
    several GPUs, and TRL's `GRPOTrainer` refuses that; a user running ``mixopt train`` on a
    multi-GPU host would get TRL's error. Instead this sets ``CUDA_VISIBLE_DEVICES`` to the first
    visible GPU (before CUDA starts, the only time it takes effect) and warns how to use all.

    Args:
        environ: the environment to change (``os.environ`` when None).

    Returns:
        The number of GPUs seen before narrowing, or None when nothing was narrowed (one GPU or
        none, or a launched group, whose launcher gives each process its GPU).

    Raises:
        ProcessCountError: CUDA is already initialized in this process with several GPUs
            visible, so narrowing can no longer take effect.
    """
    environ = os.environ if environ is None else environ
    if int(environ.get("WORLD_SIZE", "1")) > 1:
        return None
    # Before CUDA is initialized torch counts through NVML and honours CUDA_VISIBLE_DEVICES.
    count = torch.cuda.device_count()
    if count <= 1:
        return None
    command = f"`accelerate launch --num_processes {count} mixopt train JOB.yaml`"
    if torch.cuda.is_initialized():
        raise ProcessCountError(
            f"{count} GPUs are visible to this single training process and CUDA is already "
            f"initialized; set CUDA_VISIBLE_DEVICES to one GPU, or run {command} with "
            f"grpo.num_processes: {count}"
        )
    outer = environ.get("CUDA_VISIBLE_DEVICES")
    first = outer.split(",")[0].strip() if outer else "0"
    environ["CUDA_VISIBLE_DEVICES"] = first
    warnings.warn(
        f"{count} GPUs visible to one training process; training on GPU {first} only (TRL's "
        f"GRPOTrainer cannot use nn.DataParallel). To train on all {count}: {command} with "
        f"grpo.num_processes: {count}",
        stacklevel=2,
    )
    return count
