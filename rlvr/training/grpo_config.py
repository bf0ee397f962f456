"""A `TrainJob` as TRL's `GRPOConfig` and peft's `LoraConfig` (the trainer's own settings).

The mapping is pure: it loads nothing and needs no GPU, so it is tested on CPU for every backend.
Whether the backend can run here is checked apart, by `require_generation_backend`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig
from trl import GRPOConfig

from rlvr.job import TrainJob
from rlvr.training.errors import GenerationBackendUnavailableError

GPU_EXTRA_INSTALL = "pip install 'mixopt[gpu]'"
_VLLM_MODES = {"vllm-colocate": "colocate", "vllm-server": "server"}
# transformers 5.24 renamed `gradient_checkpointing` (a deprecated alias since); older 5.x
# releases (5.17 on the lent GPU machine) know only the old name.
_CHECKPOINTING = (
    "activation_checkpointing"
    if "activation_checkpointing" in {f.name for f in dataclasses.fields(GRPOConfig)}
    else "gradient_checkpointing"
)


def grpo_config(
    job: TrainJob, output_dir: Path | str | None = None, *, cuda: bool | None = None
) -> GRPOConfig:
    """TRL's `GRPOConfig` for ``job``: `GRPOConfig(**grpo_config_options(...))`.

    Raises:
        ValueError: TRL or transformers refuse the combination (e.g. bf16 without a GPU).
    """
    return GRPOConfig(**grpo_config_options(job, output_dir, cuda=cuda))


def grpo_config_options(
    job: TrainJob, output_dir: Path | str | None = None, *, cuda: bool | None = None
) -> dict[str, Any]:
    """The keyword arguments of ``job``'s `GRPOConfig` (checked by nothing yet, so that the
    GPU mapping can be inspected on a machine without a GPU).

    Args:
        job: the training job; its ``grpo``, ``generation``, ``seed``, ``save_steps`` and
            ``max_steps`` are mapped.
        output_dir: where the trainer writes its checkpoints; ``job.output_dir`` when None.
        cuda: whether a CUDA GPU is used; ``torch.cuda.is_available()`` when None. Without
            one: ``use_cpu``, no bf16 (unless the job asks for it), no gradient checkpointing
            (unless asked).

    Returns:
        The options. Curves are not reported through transformers' integrations
        (``report_to=[]``): `rlvr.training.tracking` logs them with an explicit MLflow run id.
        The dataset is not shuffled again: the mixture plan's order is already seeded.

    """
    grpo = job.grpo
    cuda = torch.cuda.is_available() if cuda is None else cuda
    hf_on_gpu = cuda and job.generation.backend == "hf"
    options: dict[str, object] = {
        "output_dir": str(output_dir if output_dir is not None else job.output_dir),
        "seed": job.seed,
        "learning_rate": grpo.learning_rate,
        # transformers 5 reads a float in [0, 1) as a fraction of the steps.
        "warmup_steps": float(grpo.warmup_ratio),
        "lr_scheduler_type": grpo.lr_scheduler_type,
        "beta": grpo.beta,
        "num_generations": grpo.num_generations,
        "per_device_train_batch_size": grpo.per_device_train_batch_size,
        "gradient_accumulation_steps": grpo.gradient_accumulation_steps,
        "steps_per_generation": (
            grpo.gpu_steps_per_generation() if hf_on_gpu else grpo.effective_steps_per_generation
        ),
        "max_completion_length": grpo.max_completion_length,
        "temperature": grpo.temperature,
        "bf16": grpo.bf16 if grpo.bf16 is not None else cuda,
        _CHECKPOINTING: (
            grpo.gradient_checkpointing
            if grpo.gradient_checkpointing is not None
            else cuda and job.generation.backend != "hf"
        ),
        "use_cpu": not cuda,
        "num_train_epochs": 1,
        "max_steps": job.max_steps if job.max_steps is not None else -1,
        "save_strategy": "steps",
        "save_steps": job.save_steps,
        "logging_steps": 1,
        "report_to": [],
        "shuffle_dataset": False,
        # Our dataset is an index with a transform; its `domain` and `solution` columns must
        # reach the reward function (TRL's default, made explicit).
        "remove_unused_columns": False,
        "disable_tqdm": False,
    }
    if compile_decoding(job, cuda=cuda):
        options["cache_implementation"] = "static"
    if job.generation.backend in _VLLM_MODES:
        options.update(
            use_vllm=True,
            vllm_mode=_VLLM_MODES[job.generation.backend],
            vllm_server_host=job.generation.vllm_server_host,
            vllm_server_port=job.generation.vllm_server_port,
            vllm_gpu_memory_utilization=job.generation.gpu_memory_utilization,
        )
        if job.generation.backend == "vllm-colocate":
            options["vllm_enable_sleep_mode"] = job.generation.sleep_mode
    return options


def compile_decoding(job: TrainJob, *, cuda: bool | None = None) -> bool:
    """Whether `hf` generation uses a static KV cache and compiled decoding: the job's
    ``generation.compile_decoding``, by default on with a GPU. TRL 1.16 builds its
    GenerationConfig with ``disable_compile=True``; `run_training` lifts that flag."""
    if job.generation.backend != "hf":
        return False
    if job.generation.compile_decoding is not None:
        return job.generation.compile_decoding
    return torch.cuda.is_available() if cuda is None else cuda


def lora_config(job: TrainJob) -> LoraConfig | None:
    """peft's `LoraConfig` for ``job.lora`` (a causal-LM task), or None for full fine-tuning."""
    if job.lora is None:
        return None
    modules = job.lora.target_modules
    return LoraConfig(
        r=job.lora.r,
        lora_alpha=job.lora.alpha,
        lora_dropout=job.lora.dropout,
        target_modules=modules if isinstance(modules, str) else list(modules),
        task_type="CAUSAL_LM",
    )


def require_generation_backend(job: TrainJob) -> None:
    """Check that the job's generation backend can run here (vLLM installed for ``vllm-*``).

    Raises:
        GenerationBackendUnavailableError: a ``vllm-*`` backend without vLLM; says how to
            install it, or to use ``generation.backend: hf``.
    """
    backend = job.generation.backend
    if backend in _VLLM_MODES and importlib.util.find_spec("vllm") is None:
        raise GenerationBackendUnavailableError(
            f"generation.backend {backend!r} needs vLLM, which is not installed: "
            f"`{GPU_EXTRA_INSTALL}` on a CUDA machine, or set generation.backend: hf"
        )
