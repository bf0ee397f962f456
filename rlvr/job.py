"""`TrainJob`: the versioned, validated job file of one GRPO training run (``mixopt train``).

A job names its domains and their mixture weights, the prompt budget, the seed, the model and
the GRPO settings; a trial of a study is exactly one job file. `load_job` reports every error
of a file at once, one ``FILE: key.path: message`` line each; `save_job` writes a file that
`load_job` reads back to an equal job.

Relative paths in a job file (``output_dir``, ``domain_files``, and a ``model`` written as
``./...`` or ``../...``) are read from the job file's folder, so a job runs from any folder.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rlvr.config_files import ConfigFileError, key_path, read_yaml, validation_error_lines
from rlvr.config_types import (
    NonEmptyStr,
    NonNegativeInt,
    NonNegativeReal,
    PositiveInt,
    PositiveReal,
    Real,
    StrictBool,
)
from rlvr.domains.images import ImagePolicy
from rlvr.domains.registry import DomainRegistry, default_registry
from rlvr.domains.spec import DomainName
from rlvr.sampling import WEIGHT_SUM_TOLERANCE

SCHEMA_VERSION = 1
# Validation context key: the domain names a job may use (None: do not check them).
KNOWN_DOMAINS = "known_domains"
_CONFIG = ConfigDict(frozen=True, extra="forbid")
# Completions per generation that the GPU default of `steps_per_generation` aims at: transformers'
# `generate` is bound by per-token overhead; 128 measured faster per step than 256 on the H200
# (docs/PERFORMANCE.md section 5).
GPU_GENERATION_BATCH = 128
Fraction01 = Annotated[Real, Field(ge=0.0, le=1.0)]


class JobError(ConfigFileError):
    """A job file with errors; ``lines`` holds one ``FILE: key.path: message`` each."""


class GRPOSettings(BaseModel):
    """GRPO hyper-parameters, with the reference's defaults (names as in TRL's `GRPOConfig`).

    Raises:
        pydantic.ValidationError: invalid values, or a generation batch that does not hold
            whole groups of ``num_generations`` completions (TRL's rule; see `generation_batch`).
    """

    model_config = _CONFIG

    learning_rate: PositiveReal = Field(default=1e-6, description="Peak learning rate of AdamW.")
    warmup_ratio: Annotated[Real, Field(ge=0.0, lt=1.0)] = Field(
        default=0.1, description="Fraction of the steps spent warming the learning rate up."
    )
    lr_scheduler_type: Literal[
        "linear", "cosine", "constant", "constant_with_warmup", "cosine_with_min_lr"
    ] = Field(default="linear", description="Learning-rate schedule after the warm-up.")
    beta: NonNegativeReal = Field(
        default=0.04,
        description="KL coefficient against the reference model; 0 does not load the "
        "reference model (less memory).",
    )
    num_generations: Annotated[int, Field(strict=True, ge=2)] = Field(
        default=6,
        description="Completions sampled per prompt (the group of GRPO's advantages); >= 2.",
    )
    per_device_train_batch_size: PositiveInt = Field(
        default=6, description="Completions per device per forward/backward pass."
    )
    gradient_accumulation_steps: PositiveInt = Field(
        default=1, description="Passes accumulated into one optimizer step."
    )
    num_processes: PositiveInt = Field(
        default=1,
        description="Training processes (GPUs) of the run; must match `accelerate launch "
        "--num_processes`.",
    )
    steps_per_generation: PositiveInt | None = Field(
        default=None,
        description="Optimizer passes served by one generation batch. None: on a GPU with `hf` "
        "generation, enough passes for >= GPU_GENERATION_BATCH (128) completions per GPU "
        "and generation (the largest throughput lever; the later passes learn from completions of "
        "a slightly older policy: docs/TRAINING.md); otherwise gradient_accumulation_steps "
        "(TRL's default, on-policy). Set 1 for strictly on-policy GRPO.",
    )
    bf16: StrictBool | None = Field(
        default=None, description="bfloat16 mixed precision; None: on when a GPU is present."
    )
    weights_dtype: Literal["float32", "bfloat16", "auto"] = Field(
        default="float32",
        description="dtype the policy's weights are loaded and updated in. float32 (TRL's own "
        "default): master weights in float32, compute in bfloat16 when bf16 is on. bfloat16 or "
        "auto (the checkpoint's dtype, bfloat16 for Qwen2-VL) halve the weight and optimizer "
        "memory, but updates below a weight's bfloat16 spacing (~1e-4 for |w| ~ 0.03) are lost: "
        "at the reference's learning rate of 1e-6 full fine-tuning then barely moves. Fine with "
        "LoRA (the adapters stay float32).",
    )
    gradient_checkpointing: StrictBool | None = Field(
        default=None,
        description="Recompute activations in the backward pass (less memory, ~30% slower); "
        "None: on with a vLLM backend (vLLM holds part of the GPU), off otherwise (a 2B model "
        "peaks near 34 GiB without it at 16 completions per pass).",
    )
    freeze_vision_tower: StrictBool = Field(
        default=True, description="Keep the vision encoder's weights fixed (the reference does)."
    )
    max_prompt_length: PositiveInt | None = Field(
        default=None,
        description="Largest prompt in tokens (text and image tokens); None: no limit. TRL 1.16 "
        "has no such option (a multimodal prompt cannot be cut safely), so every prompt of the "
        "plan is measured before training and a longer one stops the run with its name.",
    )
    max_completion_length: PositiveInt = Field(
        default=1024, description="Largest completion in tokens; longer ones are cut."
    )
    temperature: PositiveReal = Field(
        default=1.0, description="Sampling temperature of the completions."
    )

    @property
    def effective_steps_per_generation(self) -> int:
        """``steps_per_generation``, or ``gradient_accumulation_steps`` when it is None (the
        value TRL's batch rule is checked with; see `gpu_steps_per_generation` for the GPU)."""
        return self.steps_per_generation or self.gradient_accumulation_steps

    def gpu_steps_per_generation(self) -> int:
        """Steps per generation with `hf` generation on a GPU: the job's value, or the smallest
        multiple of ``gradient_accumulation_steps`` giving each GPU >= `GPU_GENERATION_BATCH`
        completions per generation while the whole world's batch keeps whole groups of
        ``num_generations`` (TRL's rule).

        Per GPU, not per world: each process decodes its share of the batch, and decoding time
        hardly grows with the batch, so a world target would halve every GPU's batch (and its
        throughput) at two processes. The staleness (passes per generation) is then the same
        on any number of GPUs."""
        if self.steps_per_generation is not None:
            return self.steps_per_generation
        per_device = self.per_device_train_batch_size
        per_world = per_device * self.num_processes
        steps = self.gradient_accumulation_steps
        gens = self.num_generations
        while per_device * steps < GPU_GENERATION_BATCH or (per_world * steps) % gens:
            steps += self.gradient_accumulation_steps
        return steps

    @property
    def generation_batch(self) -> int:
        """Completions generated at once, TRL's ``generation_batch_size``:
        ``per_device_train_batch_size * num_processes * steps_per_generation``."""
        return (
            self.per_device_train_batch_size
            * self.num_processes
            * self.effective_steps_per_generation
        )

    @model_validator(mode="after")
    def _whole_groups_per_generation_batch(self) -> GRPOSettings:
        # TRL 1.16, GRPOConfig.__post_init__ (trl/trainer/grpo_config.py, lines 1096-1135).
        if self.generation_batch % self.num_generations == 0:
            return self
        raise ValueError(batch_arithmetic_message(self))


def batch_arithmetic_message(grpo: GRPOSettings) -> str:
    """Why ``grpo``'s generation batch breaks TRL's rule, with values that would satisfy it."""
    pdb, procs, gens = grpo.per_device_train_batch_size, grpo.num_processes, grpo.num_generations
    steps = grpo.effective_steps_per_generation
    steps_field = (
        "steps_per_generation"
        if grpo.steps_per_generation is not None
        else "gradient_accumulation_steps"
    )
    steps_text = (
        f"steps_per_generation ({steps})"
        if grpo.steps_per_generation is not None
        else f"steps_per_generation (None: gradient_accumulation_steps = {steps})"
    )
    batch = grpo.generation_batch
    options = [
        f"per_device_train_batch_size to {_next_fitting(pdb, gens, procs * steps)}",
        f"{steps_field} to {_next_fitting(steps, gens, pdb * procs)}",
    ]
    divisors = [d for d in range(2, min(batch, 64) + 1) if batch % d == 0]
    if divisors:
        options.append(f"num_generations to one of {', '.join(map(str, divisors))}")
    return (
        f"the generation batch per_device_train_batch_size ({pdb}) x num_processes ({procs}) x "
        f"{steps_text} = {batch} must be divisible by num_generations ({gens}), so that every "
        f"prompt gets its whole group of completions (TRL's GRPOConfig rule); change "
        f"{', or '.join(options)}"
    )


def _next_fitting(value: int, groups: int, other_factors: int) -> int:
    """The smallest ``v >= value`` with ``v * other_factors`` divisible by ``groups``."""
    step = groups // math.gcd(groups, other_factors)
    return -(-value // step) * step


class GenerationSettings(BaseModel):
    """How completions are generated: Hugging Face ``generate`` or vLLM."""

    model_config = _CONFIG

    backend: Literal["hf", "vllm-colocate", "vllm-server"] = Field(
        default="hf",
        description="`hf`: transformers' generate (CPU or GPU, no extra install); "
        "`vllm-colocate`: vLLM inside the training processes; `vllm-server`: a separate "
        "`trl vllm-serve` process (needs the `gpu` extra).",
    )
    vllm_server_host: NonEmptyStr = Field(
        default="127.0.0.1", description="Host of the vLLM server (`vllm-server` only)."
    )
    vllm_server_port: Annotated[int, Field(strict=True, ge=1, le=65535)] = Field(
        default=8000, description="Port of the vLLM server (`vllm-server` only)."
    )
    gpu_memory_utilization: Annotated[Real, Field(gt=0.0, le=1.0)] = Field(
        default=0.3,
        description="Fraction of GPU memory vLLM may take (`vllm-colocate`; a server sets its "
        "own).",
    )
    sleep_mode: StrictBool = Field(
        default=False,
        description="`vllm-colocate`: put vLLM to sleep (weights and KV cache freed) while the "
        "trainer runs, so that vLLM's share and the trainer fit one GPU together (TRL's "
        "`vllm_enable_sleep_mode`; measured in docs/PERFORMANCE.md).",
    )
    compile_decoding: StrictBool | None = Field(
        default=None,
        description="`hf` backend: a static KV cache and torch.compile'd decoding steps (about "
        "2x faster `generate` after a warm-up compile); None: on with a GPU, off on CPU.",
    )


class LoraSettings(BaseModel):
    """Low-rank adapters (peft) in place of full fine-tuning."""

    model_config = _CONFIG

    r: PositiveInt = Field(default=16, description="Rank of the adapters.")
    alpha: PositiveReal = Field(default=32.0, description="Scaling numerator (lora_alpha).")
    dropout: Annotated[Real, Field(ge=0.0, lt=1.0)] = Field(
        default=0.05, description="Dropout on the adapters' input."
    )
    target_modules: tuple[NonEmptyStr, ...] | Literal["all-linear"] = Field(
        default=("q_proj", "k_proj", "v_proj", "o_proj"),
        description="Module names that get adapters, or `all-linear`.",
    )

    @field_validator("target_modules")
    @classmethod
    def _some_modules(cls, modules: object) -> object:
        if not modules:
            raise ValueError("name at least one module (or `all-linear`)")
        return modules


class TrackingSettings(BaseModel):
    """Where the run's curves go (MLflow)."""

    model_config = _CONFIG

    mlflow_tracking_uri: NonEmptyStr | None = Field(
        default=None, description="MLflow tracking URI; None: MLflow's default (./mlruns)."
    )
    run_id: NonEmptyStr | None = Field(
        default=None, description="MLflow run to log into; None: a new run is created."
    )
    experiment_name: NonEmptyStr = Field(
        default="mixopt-train", description="Experiment of a newly created run."
    )


# Placeholders of a checkpoint hook's command (`CheckpointHookSettings`).
HOOK_PLACEHOLDERS = ("{checkpoint}", "{step}", "{fraction}")


class CheckpointHookSettings(BaseModel):
    """Save a checkpoint at fractions of the run's optimizer steps and run a command on it.

    At each fraction ``f``, the trainer saves ``output_dir/checkpoint-<step>`` at step
    ``max(1, round(f * max_steps))`` (as at ``save_steps``, so the run can also resume there)
    and runs `command` on its main process, waiting for it, with ``{checkpoint}`` (the folder),
    ``{step}`` and ``{fraction}`` replaced in its arguments. Training goes on once it exits 0;
    any other exit code ends the run (`CheckpointHookError`). What the command does with the
    checkpoint (e.g. evaluate it) is its own business.
    """

    model_config = _CONFIG

    fractions: tuple[Annotated[Real, Field(gt=0.0, le=1.0)], ...] = Field(
        min_length=1, description="Fractions of the run's steps, increasing, in (0, 1]."
    )
    command: tuple[NonEmptyStr, ...] = Field(
        min_length=1,
        description="Program and arguments (no shell); {checkpoint}, {step} and {fraction} "
        "are replaced.",
    )

    @field_validator("fractions")
    @classmethod
    def _increasing(cls, fractions: tuple[float, ...]) -> tuple[float, ...]:
        if any(b <= a for a, b in itertools.pairwise(fractions)):
            raise ValueError(f"fractions must increase, got {list(fractions)}")
        return fractions


class TrainJob(BaseModel):
    """One GRPO training run of a fixed mixture.

    Validation checks the domain names against the registry (the built-ins plus
    ``domain_files``, which are then read relative to the current folder); pass
    ``context={KNOWN_DOMAINS: names}`` to `model_validate` to check against other names, or
    ``None`` to skip the check. `load_job` does this for you, from the job file's folder.

    Raises:
        pydantic.ValidationError: every invalid field at once.
    """

    model_config = _CONFIG

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="Version of this file format."
    )
    model: NonEmptyStr = Field(
        description="Model to train: a hub id, or a local folder (`./...` or `../...` is read "
        "from the job file's folder)."
    )
    domain_files: tuple[Path, ...] = Field(
        default=(), description="YAML files defining domains beyond the five built-ins."
    )
    domains: dict[DomainName, NonNegativeReal] = Field(
        description="Domain name -> mixture weight; weights >= 0 that sum to 1."
    )
    budget: PositiveInt = Field(description="Number of training prompts of the run.")
    sampling_mode: Literal["exact", "interleave_under"] = Field(
        default="exact",
        description="`exact`: per-domain quotas of the budget (comparable runs); "
        "`interleave_under`: the reference's draw-until-a-domain-runs-out.",
    )
    seed: NonNegativeInt = Field(default=0, description="Seed of the sampling and the training.")
    grpo: GRPOSettings = Field(default_factory=GRPOSettings, description="GRPO settings.")
    generation: GenerationSettings = Field(
        default_factory=GenerationSettings, description="Generation backend."
    )
    lora: LoraSettings | None = Field(
        default=None, description="LoRA adapters; None: full fine-tuning."
    )
    images: ImagePolicy = Field(
        default_factory=ImagePolicy, description="Size limits applied to every image."
    )
    output_dir: Path = Field(description="Checkpoints and train_result.json go here.")
    save_steps: PositiveInt = Field(default=100, description="Checkpoint every this many steps.")
    max_steps: PositiveInt | None = Field(
        default=None,
        description="Stop after this many optimizer steps; None: one pass over the budget's "
        "prompts.",
    )
    tracking: TrackingSettings = Field(
        default_factory=TrackingSettings, description="MLflow tracking."
    )
    checkpoint_hook: CheckpointHookSettings | None = Field(
        default=None,
        description="Optional: save a checkpoint at fractions of the run and run a command on "
        "each (e.g. a study's checkpoint evaluation); None: none.",
    )

    @field_validator("domains")
    @classmethod
    def _weights_on_the_simplex(
        cls, weights: dict[str, float], info: ValidationInfo
    ) -> dict[str, float]:
        if not weights:
            raise ValueError("name at least one domain")
        total = math.fsum(weights.values())
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(
                f"weights must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}), got {total!r}"
            )
        known = _known_domains(info)
        unknown = [name for name in weights if known is not None and name not in known]
        if unknown:
            raise ValueError(
                f"unknown domain(s) {', '.join(map(repr, unknown))}; known domains: "
                f"{', '.join(sorted(known or ()))}"
            )
        return weights

    def to_yaml(self) -> str:
        """The job as YAML that `load_job` reads back to an equal job."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _known_domains(info: ValidationInfo) -> frozenset[str] | None:
    if isinstance(info.context, Mapping) and KNOWN_DOMAINS in info.context:
        names = info.context[KNOWN_DOMAINS]
        return None if names is None else frozenset(names)
    if "domain_files" not in info.data:
        return None  # domain_files itself is invalid: cannot tell which names exist
    return frozenset(default_registry(info.data["domain_files"]).names())


def load_job(path: Path | str, registry: DomainRegistry | None = None) -> TrainJob:
    """Read and validate a job file.

    Args:
        path: the YAML file.
        registry: domains that the job may name, before its own ``domain_files``;
            `default_registry()` (the five built-ins) when None.

    Returns:
        The job, its relative paths made absolute against the file's folder.

    Raises:
        JobError: every error of the file at once (and of its domain files), one
            ``FILE: key.path: message`` line each.
    """
    path = Path(path)
    try:
        data = read_yaml(path)
    except ConfigFileError as error:
        raise JobError(error.lines) from None
    if not isinstance(data, dict):
        raise JobError(
            [
                f"{path}: {key_path(())}: expected a mapping of job settings, got "
                f"{type(data).__name__}"
            ]
        )
    data = _with_paths_from(data, path.absolute().parent)

    lines: list[str] = []
    known: tuple[str, ...] | None = None
    domain_files = data.get("domain_files", [])
    if isinstance(domain_files, list) and all(isinstance(f, str) for f in domain_files):
        domains = registry.copy() if registry is not None else default_registry()
        try:
            domains.add_files(domain_files)
            known = domains.names()
        except ConfigFileError as error:
            lines.extend(error.lines)  # unknown names cannot be told apart: skip that check
    try:
        job = TrainJob.model_validate(data, context={KNOWN_DOMAINS: known})
    except ValidationError as error:
        lines.extend(validation_error_lines(path, error, data))
    if lines:
        raise JobError(lines)
    return job


def save_job(job: TrainJob, path: Path | str) -> Path:
    """Write ``job`` as YAML to ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(job.to_yaml(), encoding="utf-8")
    return path


def _with_paths_from(data: dict[str, object], base: Path) -> dict[str, object]:
    """``data`` with its relative paths made absolute against ``base``; the rest unchanged."""
    data = dict(data)
    output_dir = data.get("output_dir")
    if isinstance(output_dir, str) and output_dir:
        data["output_dir"] = str(_absolute(output_dir, base))
    files = data.get("domain_files")
    if isinstance(files, list):
        data["domain_files"] = [
            str(_absolute(f, base)) if isinstance(f, str) and f else f for f in files
        ]
    model = data.get("model")
    if isinstance(model, str) and model.startswith(("./", "../")):
        data["model"] = str(_absolute(model, base))
    return data


def _absolute(path: str, base: Path) -> Path:
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else (base / expanded).resolve()
