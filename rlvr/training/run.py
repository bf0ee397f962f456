"""`run_training`: one GRPO run of a fixed mixture, start to finish (``mixopt train JOB.yaml``).

A straight line: check the job can run here, load the data and the model, open the MLflow run,
train with TRL's `GRPOTrainer` (resuming from the last checkpoint of the output folder), save
the final model and write ``train_result.json``.

The output folder holds the trainer's ``checkpoint-<step>`` folders, ``train_job.yaml`` (the
job it was run with), ``train_result.json`` and, once complete, ``final/`` (model and processor,
loadable with `rlvr.models.load_model_and_processor`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from transformers import GenerationConfig, PreTrainedModel, ProcessorMixin, TrainerCallback
from transformers.trainer_utils import get_last_checkpoint
from trl import GRPOTrainer

from rlvr.domains import DomainRegistry
from rlvr.job import TrainJob
from rlvr.models import load_model_and_processor
from rlvr.models.qwen2vl_tokens import IMAGE_PAD, VIDEO_PAD, VISION_END, VISION_PAD, VISION_START
from rlvr.training.checkpoint_hook import CheckpointHookCallback
from rlvr.training.dataset import build_training_data
from rlvr.training.distributed import is_main_process, one_gpu_for_a_single_process
from rlvr.training.errors import OutputDirConflictError, ProcessCountError
from rlvr.training.grpo_config import (
    compile_decoding,
    grpo_config,
    lora_config,
    require_generation_backend,
)
from rlvr.training.mixed_precision import rotary_in_autocast_dtype
from rlvr.training.model_card import write_model_card
from rlvr.training.out_of_memory import out_of_memory_as_error
from rlvr.training.plain_progress import PlainProgressCallback
from rlvr.training.prompt_length import check_prompt_lengths
from rlvr.training.result import TrainResult, read_result, write_result
from rlvr.training.reward import domain_reward
from rlvr.training.sampling_mismatch import SamplingMismatchWarning
from rlvr.training.tracking import MlflowCurvesCallback, job_params, log_params, open_run
from rlvr.training.zero_signal import ZeroSignalWarning

FINAL_DIR = "final"
JOB_RECORD = "train_job.yaml"
# Job fields that may change between attempts of one run without making it another run.
_RESUMABLE_CHANGES = {"max_steps", "save_steps", "tracking", "checkpoint_hook"}


def run_training(
    job: TrainJob,
    *,
    registry: DomainRegistry | None = None,
    extra_rewards: Sequence[Callable[..., list[float]]] = (),
    callbacks: Sequence[TrainerCallback] = (),
) -> TrainResult:
    """Train ``job``; resume it if its output folder holds an interrupted attempt.

    A complete run (``train_result.json`` says so) is not run again: its result is returned.

    Args:
        job: the training job.
        registry: where domain names are looked up; the built-ins plus ``job.domain_files``
            when None.
        extra_rewards: further TRL reward functions, added to the domains' reward (TRL sums
            them); e.g. a shaping reward for a smoke test of an untrained model.
        callbacks: further `TrainerCallback`s (progress reporting, tests).

    Returns:
        The `TrainResult` (also in ``job.output_dir/train_result.json``).

    Raises:
        GenerationBackendUnavailableError: a vLLM backend without vLLM installed.
        ProcessCountError: ``grpo.num_processes`` differs from the launched processes, or one
            process sees several GPUs after CUDA started (it could not be narrowed to one).
        OutputDirConflictError: the output folder holds a run of another job.
        ResultFileError: an unreadable ``train_result.json`` in the output folder.
        UnknownDomainError, DomainFileError, SourceUnavailableError, SourceFormatError,
            TooManyBadRecordsError, UndecodableImageError: the domains' data.
        ModelLoadError: the model or its processor cannot be loaded.
        TrainingOutOfMemoryError: training ran out of memory (names the knobs to lower).
        mlflow.exceptions.MlflowException: the tracking store or the named run.
    """
    # -- check: everything that can be told before loading anything
    require_generation_backend(job)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size != job.grpo.num_processes:
        raise ProcessCountError(
            f"the job says grpo.num_processes: {job.grpo.num_processes} but {world_size} "
            f"process(es) were launched; launch with `accelerate launch --num_processes "
            f"{job.grpo.num_processes}` or change grpo.num_processes"
        )
    one_gpu_for_a_single_process()  # not nn.DataParallel, which TRL refuses
    main_process = is_main_process()
    output_dir = job.output_dir
    previous = read_result(output_dir)
    if previous is not None and previous.complete:
        return previous
    _check_same_job(job, output_dir)

    # -- build: data, model, tracking, trainer
    data = build_training_data(job, registry)
    model, processor = load_model_and_processor(job.model, dtype=weights_dtype(job))
    prepare_processor_for_training(processor)
    check_prompt_lengths(data, processor, job.grpo.max_prompt_length)
    if job.grpo.freeze_vision_tower:
        freeze_vision_tower(model)
    compiled = compile_decoding(job)
    if compiled:
        rotary_in_autocast_dtype(model)  # a static KV cache needs keys and values of one dtype
    client = run_id = None
    created_run = False
    if main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / JOB_RECORD).write_text(job.to_yaml(), encoding="utf-8")
        client, run_id, created_run = open_run(
            job, previous.mlflow_run_id if previous is not None else None
        )
        log_params(client, run_id, job_params(job, data.plan))
    last_checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None

    def result(*, complete: bool, steps: int, runtime: float, final: str | None) -> TrainResult:
        return TrainResult(
            complete=complete,
            steps=steps,
            samples=data.plan.summary(),
            bad_records={name: report.summary() for name, report in data.reports.items()},
            runtime_seconds=round(runtime, 3),
            final_checkpoint=final,
            mlflow_run_id=run_id,
            mlflow_tracking_uri=job.tracking.mlflow_tracking_uri,
            resumed_from=last_checkpoint,
            peak_gpu_memory_gib=peak_gpu_memory_gib(),
        )

    started = time.monotonic()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        if main_process:
            write_result(result(complete=False, steps=0, runtime=0.0, final=None), output_dir)
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[domain_reward(data.specs), *extra_rewards],
            args=grpo_config(job),
            train_dataset=data.dataset,
            processing_class=processor,
            peft_config=lora_config(job),
            callbacks=[
                *([MlflowCurvesCallback(client, run_id)] if client is not None else []),
                ZeroSignalWarning(),  # says so when every GRPO advantage is 0
                *([SamplingMismatchWarning()] if job.generation.backend != "hf" else []),
                PlainProgressCallback(),  # lines in a log file, where tqdm's bar is unreadable
                *([CheckpointHookCallback(job.checkpoint_hook)]
                  if job.checkpoint_hook is not None else []),
                *callbacks,
            ],
        )
        # TRL's card links the base model's hub id: "None" for a local folder.
        trainer.create_model_card = lambda **_: write_model_card(output_dir, job)
        if compiled:
            trainer.generation_config.disable_compile = False  # TRL 1.16 hard-codes True
        if job.generation.backend == "hf":
            suppress_vision_markers(trainer.generation_config, processor)
        else:  # vLLM, in-process or `trl vllm-serve` (TRL sends these options per request)
            suppress_vision_markers_in_vllm(trainer.vllm_generation.generation_kwargs, processor)
        # -- run
        with out_of_memory_as_error():
            trainer.train(resume_from_checkpoint=last_checkpoint)
        final_dir = output_dir / FINAL_DIR
        save_final_model(trainer, final_dir, merge_lora=job.lora is not None)
        if main_process:
            write_model_card(final_dir, job)
    except BaseException:
        if created_run:
            client.set_terminated(run_id, status="FAILED")
        raise

    # -- clean up: the result file, and the run if this job created it
    done = result(
        complete=True,
        steps=trainer.state.global_step,
        runtime=time.monotonic() - started,
        final=str(final_dir),
    )
    if main_process:
        write_result(done, output_dir)
        if created_run:
            client.set_terminated(run_id, status="FINISHED")
    return done


def peak_gpu_memory_gib() -> float | None:
    """The most memory PyTorch has allocated on the current CUDA device, GiB (3 decimals);
    None without CUDA."""
    if not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / 2**30, 3)


def weights_dtype(job: TrainJob) -> torch.dtype | str:
    """The dtype the policy is loaded in: ``job.grpo.weights_dtype`` (``"auto"`` is passed on).

    float32 by default, as TRL loads a model it is given by name: `from_pretrained` in
    transformers 5 keeps a checkpoint's bfloat16, and AdamW steps of ~lr (1e-6) vanish when
    added to bfloat16 weights (8 mantissa bits: the spacing near 0.03 is 1.2e-4).
    """
    name = job.grpo.weights_dtype
    return "auto" if name == "auto" else getattr(torch, name)


def prepare_processor_for_training(processor: ProcessorMixin) -> ProcessorMixin:
    """Make ``processor`` pad and truncate on the left, as TRL's `GRPOTrainer` expects.

    TRL left-pads the prompt token ids it generates from, but takes the per-token multimodal
    fields of the scoring forward passes (Qwen2-VL's ``mm_token_type_ids``) from a second,
    padded processor call, which pads on the tokenizer's ``padding_side``. Qwen2-VL
    checkpoints pad on the right: the two then disagree for every prompt shorter than the
    longest of its generation batch, and Qwen2-VL's ``get_rope_index`` computes the M-RoPE
    positions from image tokens that are not where ``mm_token_type_ids`` says (wrong positions,
    or ``RuntimeError: shape mismatch`` when the padding cuts the image tokens in two). TRL
    itself loads a processor with ``padding_side="left"`` when given none. Upstream:
    https://github.com/huggingface/trl/issues/5785. The saved ``final/`` processor keeps left
    padding (right for batched generation too).

    Returns:
        ``processor``, changed in place.
    """
    tokenizer = getattr(processor, "tokenizer", processor)
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    return processor


def vision_marker_ids(processor: Any) -> set[int]:
    """Qwen2-VL's vision marker token ids that ``processor``'s tokenizer knows (image/video pad,
    vision start/end/pad); unknown tokens are left out."""
    tokenizer = getattr(processor, "tokenizer", processor)
    unknown = tokenizer.unk_token_id
    markers = {
        tokenizer.convert_tokens_to_ids(token)
        for token in (VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD, VISION_PAD)
    }
    return {i for i in markers if isinstance(i, int) and i != unknown}


def suppress_vision_markers(generation_config: GenerationConfig, processor: Any) -> list[int]:
    """Forbid sampling Qwen2-VL's vision marker tokens during GRPO generation (`hf` backend).

    TRL suppresses ``<|image_pad|>`` only. A completion holding ``<|vision_start|>``,
    ``<|vision_end|>``, ``<|video_pad|>`` or ``<|vision_pad|>`` breaks the next forward pass
    over prompt + completion: Qwen2-VL's ``get_rope_index`` reads those markers as the start
    of an image that has no features (``RuntimeError: shape mismatch``; seen with random
    2B-shaped models on the H200, and possible for any policy at temperature 1). Tokens the
    tokenizer does not know are left out.

    Returns:
        The token ids now suppressed (TRL's and these), sorted; ``generation_config`` changed
        in place.
    """
    ids = set(generation_config.suppress_tokens or []) | vision_marker_ids(processor)
    generation_config.suppress_tokens = sorted(ids)
    return generation_config.suppress_tokens


# exp(-100) is 0 in float32 next to any logit: a token with this bias is never sampled.
VLLM_FORBIDDEN_BIAS = -100.0


def suppress_vision_markers_in_vllm(generation_kwargs: dict[str, Any], processor: Any) -> dict:
    """The vLLM backends' `suppress_vision_markers`: vLLM's ``SamplingParams`` has no
    ``suppress_tokens`` (TRL passes ``generation_kwargs`` to it), so the markers get a
    ``logit_bias`` of `VLLM_FORBIDDEN_BIAS`. TRL's vLLM path suppresses none of them, so a
    policy sampling one breaks the training pass as with `hf` generation.

    Args:
        generation_kwargs: TRL's vLLM sampling options (``trainer.vllm_generation
            .generation_kwargs``), changed in place; a ``logit_bias`` already there is kept
            and extended.

    Returns:
        ``generation_kwargs``.
    """
    bias = dict(generation_kwargs.get("logit_bias") or {})
    bias.update({i: VLLM_FORBIDDEN_BIAS for i in sorted(vision_marker_ids(processor))})
    generation_kwargs["logit_bias"] = bias
    return generation_kwargs


def freeze_vision_tower(model: nn.Module) -> int:
    """Stop gradients to the vision encoder (Qwen2-VL's ``model.model.visual``).

    Returns:
        The number of parameters frozen.

    Raises:
        ValueError: the model has no ``visual`` module (not a Qwen2-VL-like model).
    """
    inner = getattr(model, "model", None)
    visual = getattr(inner, "visual", None) or getattr(model, "visual", None)
    if not isinstance(visual, nn.Module):
        raise ValueError(
            f"{type(model).__name__} has no vision tower at .model.visual or .visual; set "
            "grpo.freeze_vision_tower: false"
        )
    frozen = 0
    for parameter in visual.parameters():
        parameter.requires_grad_(False)
        frozen += parameter.numel()
    return frozen


def save_final_model(trainer: GRPOTrainer, folder: Path, *, merge_lora: bool) -> None:
    """Save the trained model and the processor into ``folder`` (for evaluation).

    LoRA adapters are merged into the base weights first, so the folder loads like any
    checkpoint (not supported under DeepSpeed ZeRO-3, whose weights are sharded).
    """
    if not merge_lora:
        trainer.save_model(str(folder))  # also saves the processing class, on the main process
        return
    if trainer.accelerator.is_main_process:
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        if not isinstance(merged, PreTrainedModel):
            raise TypeError(f"merging LoRA gave a {type(merged).__name__}, not a model")
        merged.save_pretrained(folder)
        trainer.processing_class.save_pretrained(folder)
    trainer.accelerator.wait_for_everyone()


def _check_same_job(job: TrainJob, output_dir: Path) -> None:
    """Refuse to resume a folder holding another job's run (other than `_RESUMABLE_CHANGES`)."""
    record = output_dir / JOB_RECORD
    if not record.is_file():
        return
    before = yaml.safe_load(record.read_text(encoding="utf-8")) or {}
    now = job.model_dump(mode="json")
    changed = sorted(
        key
        for key in set(before) | set(now)
        if key not in _RESUMABLE_CHANGES and before.get(key) != now.get(key)
    )
    if changed:
        raise OutputDirConflictError(
            f"{output_dir} holds a run of another job (it differs in {', '.join(changed)}); "
            "use another output_dir, or delete the folder to start over"
        )
