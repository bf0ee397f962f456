"""A warm-started tiny Qwen2-VL: the tiny model after a short supervised run on synthetic tasks.

A random tiny model never writes ``<think>...</think><answer>...</answer>``, so every GRPO
reward would be 0 and there would be nothing to learn from. `ensure_warm_started` gives it a
supervised start on the training splits of the synthetic domains (`rlvr.domains.synthetic`):
each record's prompt, exactly as training and evaluation prompt it, followed by a templated
completion and ``<|im_end|>``; the loss counts the completion's tokens only. The completion is
``<think>{reasoning}</think><answer>{answer}</answer>``, where the reasoning is the record's
templated description of what the answer needs (``thinking="scene"``: ``blue square at 1 0,
green triangle at 1 3``, ``the red bar is 5``...) or a constant (``thinking="fixed"``: ``look at
the image``).

The default recipe also learns the *training* splits of the two held-out (out-of-domain)
tasks. This is the analogue of pretraining: a real VLM has seen chart and counting data before
RLVR, is partly right on ChartQA-like benchmarks, and the RL mixture moves that; a base that
has never seen a held-out task scores at chance on it whatever the mixture (measured:
docs/PERFORMANCE.md section 7). Studies still refuse those domains as training domains, and
their test splits (another seed) stay unseen.

What it achieves (benchmarks/warm_start_sweep.py; docs/PERFORMANCE.md section 7): the answer
format at once, the answer given a correct reasoning within ~1000 steps, and *seeing* (the
grid cells and bar values of the reasoning) only slowly: on held-out records the cells of
the spatial task are at chance after 750 steps of 16, 0.42 after 1500, 0.64 after 3000, 0.85
after 4500 (text width 256). A text width of 128 (`DEMO_MODEL`) sees as fast per step at half
the cost, so the default's 4500 steps take ~8 min on 2 CPU cores, the most the demo's 15
minutes allow; the base is then above chance on every test split (see
`rlvr.domains.synthetic.scene` for what made the pictures learnable at all).

The result is cached: ``cache_dir / f"warm-qwen2vl-{hash}-seed{seed}"``, where ``hash`` covers
the `WarmStartRecipe` (its tiny-model recipe hash, the synthetic generators' version and this
module's `WARM_START_VERSION` included). A changed recipe is another folder, built anew. A
build is written to a temporary sibling and renamed into place, its `RECIPE_FILE` written last,
so a killed build never leaves a folder that counts as built.

A build keeps a checkpoint every ``checkpoint_every`` steps (model, optimizer, schedule, step,
losses, RNG; `rlvr.models.step_checkpoints`) in the hidden sibling
``.warm-qwen2vl-{hash}-seed{seed}.checkpoints``: a rerun with the same recipe and seed
continues from the last one and ends with the same weights as an uninterrupted build (the
batches of the steps done are drawn again from the seed, not stored). The checkpoints are
removed once the model folder is in place. When stderr is not a terminal (a log file), a build
prints a plain progress line every ~30 s (`rlvr.progress`).

The default recipe's build of seed 0 ships with the code (`PREBUILT_DIR`; 2.7 MB): a cache
that lacks it gets a copy instead of an 8-minute build on 2 CPU cores. It is an ordinary build
of that recipe (`scripts/build_demo_base.py` makes it anew); its folder name carries the
recipe's hash, so a changed recipe never uses it and is built, and
tests/rlvr/models/test_prebuilt_base.py fails until the shipped build is remade.

Same seed, same recipe, same threads: the same weights (the data order and the initialization
come from the seed; the caller's global RNG is left as it was). Across machines or thread counts
float sums may differ in the last bits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from rlvr.atomic_write import write_text_atomic
from rlvr.domains import SyntheticSource, default_registry, prompt_messages
from rlvr.domains.synthetic import GENERATOR_VERSION, make_record
from rlvr.domains.synthetic.answers import reference_completion
from rlvr.domains.synthetic.domains import OUT_OF_DOMAIN, TRAINING_DOMAINS
from rlvr.models.loading import load_model_and_processor
from rlvr.models.qwen2vl_tokens import IM_END
from rlvr.models.step_checkpoints import StepCheckpoints
from rlvr.models.tiny import TinyModelConfig, build_tiny_qwen2vl
from rlvr.progress import DEFAULT_INTERVAL_S, PlainProgress

# Bump when the training code changes what a recipe produces, so cached folders are rebuilt.
WARM_START_VERSION = 1
RECIPE_FILE = "warm_start_recipe.json"
STATS_FILE = "warm_start_stats.json"
IGNORE_INDEX = -100
FIXED_THINKING = "look at the image"
# ~1-6 minutes of a demo build (2 idle / busy CPU cores); a checkpoint of DEMO_MODEL takes
# ~0.06 s and 8 MB (measured: model, AdamW state and 4500 losses).
DEFAULT_CHECKPOINT_EVERY = 250
# Builds shipped with the code, named as `warm_start_folder` names them.
PREBUILT_DIR = Path(__file__).parent / "prebuilt"
_LOG = logging.getLogger(__name__)
# The warm start's model: the tiny model with a text width of 128 (8 heads of 16 dims). It
# learns to see as fast per step as the 256-wide default and costs half as much per step on
# 2 CPU cores (benchmarks/warm_start_sweep.py; docs/PERFORMANCE.md section 7).
DEMO_MODEL = TinyModelConfig(hidden_size=128, intermediate_size=256, num_heads=8, num_kv_heads=4)


@dataclass(frozen=True)
class WarmStartRecipe:
    """How a warm-started tiny model is made.

    Attributes:
        model: the tiny model's recipe (`TinyModelConfig`).
        domains: the synthetic domains whose ``train`` splits are learnt (built-in names).
        records_per_domain: the first records of each training split used (at most).
        steps: optimizer steps.
        batch_size: examples per step; a batch holds one domain, the domains take turns in a
            seeded order.
        learning_rate: peak AdamW learning rate, reached after ``warmup_steps`` (linear), then
            cosine decay to ``final_lr_fraction`` of it.
        warmup_steps: linear warm-up steps.
        final_lr_fraction: last learning rate / peak.
        weight_decay: AdamW weight decay.
        max_grad_norm: gradient clipping (global L2 norm).
        thinking: what the completions write inside ``<think>``: ``"scene"``, the record's
            templated description of what the picture shows (objects and their grid cells,
            bar values, segment lengths, the angle; `SyntheticRecord.thinking`), or
            ``"fixed"``, always `FIXED_THINKING`.

    Raises:
        ValueError: on invalid values (all problems at once).
    """

    model: TinyModelConfig = field(default_factory=lambda: DEMO_MODEL)
    domains: tuple[str, ...] = TRAINING_DOMAINS + OUT_OF_DOMAIN
    records_per_domain: int = 2000
    steps: int = 4500
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup_steps: int = 20
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    thinking: Literal["scene", "fixed"] = "scene"

    def __post_init__(self) -> None:
        problems = []
        for name in ("records_per_domain", "steps", "batch_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.domains:
            problems.append("domains must name at least one domain")
        if len(set(self.domains)) != len(self.domains):
            problems.append(f"domains repeat: {self.domains}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            problems.append(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.warmup_steps <= self.steps:
            problems.append(f"warmup_steps must be in [0, steps], got {self.warmup_steps}")
        if not 0 <= self.final_lr_fraction <= 1:
            problems.append(f"final_lr_fraction must be in [0, 1], got {self.final_lr_fraction}")
        if self.thinking not in ("scene", "fixed"):
            problems.append(f"thinking must be 'scene' or 'fixed', got {self.thinking!r}")
        if self.weight_decay < 0 or self.max_grad_norm <= 0:
            problems.append("weight_decay must be >= 0 and max_grad_norm > 0")
        if problems:
            raise ValueError("invalid WarmStartRecipe: " + "; ".join(problems))

    def recipe_hash(self) -> str:
        """SHA-256 (hex) of the recipe, the tiny model's recipe hash and the code versions."""
        fields = dataclasses.asdict(self)
        fields["model"] = self.model.recipe_hash()
        recipe = {
            "warm_start_version": WARM_START_VERSION,
            "synthetic_generator_version": GENERATOR_VERSION,
            **fields,
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SupervisedExample:
    """One training example: its domain (batches hold one domain), the chat messages of the
    prompt (one image placeholder), the image, and the completion to learn."""

    domain: str
    messages: list[dict[str, Any]]
    image: Any
    completion: str


def warm_start_folder(cache_dir: Path, *, seed: int, recipe: WarmStartRecipe) -> Path:
    """Where `ensure_warm_started` keeps the model of ``recipe`` and ``seed``."""
    return Path(cache_dir) / f"warm-qwen2vl-{recipe.recipe_hash()[:16]}-seed{seed}"


def warm_start_checkpoints(
    cache_dir: Path, *, seed: int, recipe: WarmStartRecipe, every: int = DEFAULT_CHECKPOINT_EVERY
) -> StepCheckpoints:
    """The checkpoints of an unfinished build of ``recipe`` and ``seed`` (beside its folder)."""
    folder = warm_start_folder(cache_dir, seed=seed, recipe=recipe)
    return StepCheckpoints(
        folder.parent / f".{folder.name}.checkpoints",
        key=f"{recipe.recipe_hash()}-seed{seed}",
        every=every,
    )


def read_warm_start_recipe(folder: Path) -> dict | None:
    """The recipe record of a built folder (hash, seed, recipe), or None if absent/unreadable."""
    try:
        return json.loads((Path(folder) / RECIPE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_warm_started(
    cache_dir: Path,
    *,
    seed: int,
    recipe: WarmStartRecipe | None = None,
    on_step: Callable[[int, list[float]], None] | None = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    progress_interval_s: float | None = DEFAULT_INTERVAL_S,
    prebuilt: Path | None = PREBUILT_DIR,
) -> Path:
    """The warm-started tiny model of ``recipe`` and ``seed``, built once and cached.

    Args:
        cache_dir: folder of the cache (created).
        seed: seeds the tiny model's weights and the order of the training examples.
        recipe: the recipe; `WarmStartRecipe()` when None.
        on_step: called after every training step of a build with the steps done and the
            losses so far (progress display); not called when the model is cached. A resumed
            build's first call is for the step after its checkpoint.
        checkpoint_every: steps between checkpoints of a build (0: none); a rerun continues
            from the last one (`warm_start_checkpoints`). Does not change the result.
        progress_interval_s: seconds between plain progress lines on stderr when it is not a
            terminal; None: no lines.
        prebuilt: a folder of shipped builds: one of this recipe and seed is copied into the
            cache instead of building; None: always build here.

    Returns:
        A model folder (`warm_start_folder`) that loads with
        `rlvr.models.load_model_and_processor`, holding `RECIPE_FILE` (hash, seed, recipe) and
        `STATS_FILE` (losses, wall time).

    Raises:
        rlvr.domains errors: a domain of the recipe is unknown or cannot be loaded.
        ValueError: a domain of the recipe is not a synthetic one.
    """
    recipe = recipe or WarmStartRecipe()
    folder = warm_start_folder(cache_dir, seed=seed, recipe=recipe)
    if _is_built(folder, seed=seed, recipe=recipe):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    shipped = warm_start_folder(prebuilt, seed=seed, recipe=recipe) if prebuilt else None
    if shipped is not None and _is_built(shipped, seed=seed, recipe=recipe):
        _LOG.info("warm start: copying the shipped build %s", shipped)
        return _install_copy(shipped, folder, seed=seed, recipe=recipe)
    checkpoints = warm_start_checkpoints(cache_dir, seed=seed, recipe=recipe,
                                         every=checkpoint_every)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        build_warm_started(staging, seed=seed, recipe=recipe, on_step=on_step,
                           checkpoints=checkpoints, progress_interval_s=progress_interval_s)
        _land(staging, folder, seed=seed, recipe=recipe)
        checkpoints.clear()
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


def _land(staging: Path, folder: Path, *, seed: int, recipe: WarmStartRecipe) -> None:
    """Rename the complete build `staging` onto `folder`, unless another process landed one."""
    if folder.exists():
        if _is_built(folder, seed=seed, recipe=recipe):  # another process was faster
            return
        shutil.rmtree(folder)  # an incomplete folder, not ours to keep
    staging.rename(folder)


def _install_copy(source: Path, folder: Path, *, seed: int, recipe: WarmStartRecipe) -> Path:
    """Copy the built folder `source` to `folder` as a build lands: staged, recipe file last,
    renamed into place."""
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for item in sorted(source.iterdir(), key=lambda p: p.name == RECIPE_FILE):
            if item.is_file():
                shutil.copy2(item, staging / item.name)
        _land(staging, folder, seed=seed, recipe=recipe)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


def build_warm_started(
    out_dir: Path,
    *,
    seed: int,
    recipe: WarmStartRecipe | None = None,
    on_step: Callable[[int, list[float]], None] | None = None,
    checkpoints: StepCheckpoints | None = None,
    progress_interval_s: float | None = None,
) -> Path:
    """Build the tiny model, train it on the recipe's domains and save it into ``out_dir``
    (``on_step`` and ``checkpoints`` as in `train_supervised`; plain progress lines on a
    non-terminal stderr every ``progress_interval_s`` seconds unless None). Not cached and
    not atomic: `ensure_warm_started` is. Returns ``out_dir``.

    Raises:
        ValueError: a domain of the recipe is not a synthetic one.
    """
    recipe = recipe or WarmStartRecipe()
    out_dir = Path(out_dir)
    started = time.perf_counter()
    examples = supervised_examples(recipe)
    with tempfile.TemporaryDirectory(prefix="tiny-base-") as base:
        build_tiny_qwen2vl(Path(base), seed=seed, config=recipe.model)
        model, processor = load_model_and_processor(base, attn_implementation="sdpa")
    resumed_at = checkpoints.latest_step() if checkpoints is not None else 0
    report = on_step
    if progress_interval_s is not None:
        plain = PlainProgress("warm start", recipe.steps, stream=sys.stderr,
                              interval_s=progress_interval_s, start=resumed_at)

        def report(done: int, losses: list[float]) -> None:
            plain.update(done, loss=_mean(losses[-50:]))
            if on_step is not None:
                on_step(done, losses)

    losses = train_supervised(
        model, processor, examples, recipe=recipe, seed=seed, on_step=report,
        checkpoints=checkpoints,
    )
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    stats = {
        "seconds": round(time.perf_counter() - started, 1),  # this attempt's
        "resumed_from_step": resumed_at,
        "examples": len(examples),
        "torch_threads": torch.get_num_threads(),
        "loss_first_10": _mean(losses[:10]),
        "loss_last_10": _mean(losses[-10:]),
        "losses": [round(loss, 4) for loss in losses],
    }
    write_text_atomic(out_dir / STATS_FILE, json.dumps(stats, indent=2) + "\n")
    record = {
        "recipe_hash": recipe.recipe_hash(),
        "seed": seed,
        "warm_start_version": WARM_START_VERSION,
        "synthetic_generator_version": GENERATOR_VERSION,
        "recipe": {**dataclasses.asdict(recipe), "model_recipe_hash": recipe.model.recipe_hash()},
    }
    # Written last: a folder without it (an interrupted build) never counts as built.
    write_text_atomic(out_dir / RECIPE_FILE, json.dumps(record, indent=2) + "\n")
    return out_dir


def train_supervised(
    model: Any,
    processor: Any,
    examples: Sequence[SupervisedExample],
    *,
    recipe: WarmStartRecipe,
    seed: int,
    on_step: Callable[[int, list[float]], None] | None = None,
    checkpoints: StepCheckpoints | None = None,
) -> list[float]:
    """Train ``model`` in place (loss on the completions); the loss of every step.

    Args:
        model: the model, trained in place; batches go to the device of its parameters.
        processor: its processor.
        examples: what is learnt (prompt, image, completion, domain).
        recipe: steps, batch size, learning rate and its schedule, weight decay, clipping.
        seed: the order of the examples.
        on_step: called after every step with the number of steps done and the losses so far
            (benchmarks/warm_start_sweep.py scores held-out records there).
        checkpoints: where the state is saved every ``checkpoints.every`` steps and restored
            from at the start (a killed run continues; the result is the same as without).

    Each batch holds examples of one domain (their lengths are alike: little padding); the
    domains take turns in a seeded order and each domain's examples are visited
    in a seeded shuffled order, reshuffled every pass. Runs under a forked RNG: the caller's
    global torch RNG is left as it was. A resumed run draws the batches of the steps done
    again (index lists only, cheap) so that it goes on with the same order.
    """
    rng = random.Random(seed)
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 or "norm" in name else decay).append(parameter)
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": recipe.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=recipe.learning_rate,
        betas=(0.9, 0.98),
    )
    total = recipe.steps
    order = _batches([e.domain for e in examples], recipe.batch_size, rng)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, total, recipe)
    )
    losses: list[float] = []
    device = next(model.parameters()).device
    model.train()
    first = 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        restored = None
        if checkpoints is not None:
            restored = checkpoints.restore(model=model, optimizer=optimizer, scheduler=schedule)
        if restored is not None:
            first, losses = restored.step, restored.losses
            _LOG.info("warm start: continuing from step %d of %d", first, total)
            for _ in range(first):
                next(order)
        for step in range(first, total):
            batch = collate(processor, [examples[i] for i in next(order)])
            loss = model(**{key: value.to(device) for key, value in batch.items()}).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.max_grad_norm)
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            if checkpoints is not None and checkpoints.due(step + 1, total):
                checkpoints.save(step + 1, model=model, optimizer=optimizer, scheduler=schedule,
                                 losses=losses)
            if (step + 1) % 50 == 0:
                recent = _mean(losses[-50:])
                _LOG.info("warm start step %d/%d: loss %.4f", step + 1, total, recent)
            if on_step is not None:
                on_step(step + 1, losses)
    return losses


def collate(processor: Any, examples: Sequence[SupervisedExample]) -> dict[str, torch.Tensor]:
    """A right-padded training batch: prompt + completion + ``<|im_end|>``, labels only on the
    completion and ``<|im_end|>`` (`IGNORE_INDEX` elsewhere).

    The completion is tokenized on its own, as the model will generate it after the prompt; the
    chat template ends the prompt with a newline, after which the tokenizer always starts a new
    token, so the concatenated text tokenizes the same (checked).

    Raises:
        ValueError: the completion's tokens are not the tail of the whole text's tokens.
    """
    tokenizer = processor.tokenizer
    prompts = [
        processor.apply_chat_template(e.messages, tokenize=False, add_generation_prompt=True)
        for e in examples
    ]
    completions = [e.completion + IM_END for e in examples]
    batch = processor(
        text=[p + c for p, c in zip(prompts, completions, strict=True)],
        images=[e.image for e in examples],
        padding=True,
        padding_side="right",
        return_tensors="pt",
    )
    labels = torch.full_like(batch["input_ids"], IGNORE_INDEX)
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    for row, (completion, length) in enumerate(zip(completions, lengths, strict=True)):
        ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
        tail = batch["input_ids"][row, length - len(ids) : length]
        if tail.tolist() != ids:
            raise ValueError(f"the completion {completion!r} tokenizes differently after a prompt")
        labels[row, length - len(ids) : length] = tail
    return {**batch, "labels": labels}


def supervised_examples(
    recipe: WarmStartRecipe,
    *,
    split: Literal["train", "test"] = "train",
    per_domain: int | None = None,
) -> list[SupervisedExample]:
    """The examples of the recipe's domains: the first records of each domain's ``split``
    (``recipe.records_per_domain``, or ``per_domain``, at most), drawn by its task's generator
    (which also writes the templated reasoning), prompted as in training.

    ``split="test"`` gives the held-out records the warm start never learns
    (benchmarks/warm_start_sweep.py scores them).

    Raises:
        ValueError: a domain of the recipe is not a synthetic one.
    """
    registry = default_registry()
    wanted = recipe.records_per_domain if per_domain is None else per_domain
    examples = []
    for name in recipe.domains:
        spec = registry.get(name)
        source = spec.source if split == "train" else spec.test_source
        if not isinstance(source, SyntheticSource):
            kind = getattr(source, "kind", "none")
            raise ValueError(f"warm start domains must be synthetic; {name!r} is {kind}")
        for index in range(min(source.n, wanted)):
            record = make_record(source.task, source.seed, index)
            if recipe.thinking == "fixed":
                record = dataclasses.replace(record, thinking=FIXED_THINKING)
            examples.append(
                SupervisedExample(
                    domain=name,
                    messages=prompt_messages(spec, record.problem),
                    image=record.image,
                    completion=reference_completion(record),
                )
            )
    return examples


def _batches(domains: Sequence[str], size: int, rng: random.Random) -> Iterator[list[int]]:
    """Endless batches of indices into ``domains`` (the domain of each example), one domain a
    batch; every round each domain gives one batch, in a shuffled order."""
    streams = {
        name: _shuffled_stream([i for i, d in enumerate(domains) if d == name], size, rng)
        for name in dict.fromkeys(domains)
    }
    names = list(streams)
    while True:
        rng.shuffle(names)
        for name in names:
            yield next(streams[name])


def _shuffled_stream(indices: list[int], size: int, rng: random.Random) -> Iterator[list[int]]:
    """Endless batches of ``indices``: shuffled passes, a batch may span two passes."""
    pending: list[int] = []
    while True:
        order = list(indices)
        rng.shuffle(order)
        pending.extend(order)
        while len(pending) >= size:
            yield pending[:size]
            del pending[:size]


def _lr_factor(step: int, total: int, recipe: WarmStartRecipe) -> float:
    if step < recipe.warmup_steps:
        return (step + 1) / recipe.warmup_steps
    span = max(1, total - recipe.warmup_steps)
    progress = min(1.0, (step - recipe.warmup_steps) / span)
    floor = recipe.final_lr_fraction
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def _is_built(folder: Path, *, seed: int, recipe: WarmStartRecipe) -> bool:
    record = read_warm_start_recipe(folder)
    return bool(
        record and record.get("recipe_hash") == recipe.recipe_hash() and record.get("seed") == seed
    )


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
