"""Scoring a checkpoint on the held-out test splits of registered domains.

Reference benchmarks: ``lisa`` (mean IoU), ``sat`` and ``scienceqa`` (accuracy); any domain
with a ``test_source`` is a benchmark, in-domain or out-of-domain as its spec's ``evaluation``
says (the synthetic ``synth_ood_*`` are out-of-domain: they make the Out-Score). Test records
are read by `rlvr.domains.load_records` (unreadable ones are skipped and counted in
``n_skipped``), prompted exactly as in training (`rlvr.domains.prompt_messages`) and scored by
`evaluators.scoring` with the training rewards' parsers. A benchmark where nothing could be
scored is an error, never a score of 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluators.checkpoint import checkpoint_step
from evaluators.errors import NoTestSplitError, NothingScoredError, UnknownBenchmarkError
from evaluators.generation import GenerationSettings, Generator, HFGenerator, select_backend
from evaluators.objectives import objectives_of
from evaluators.result import BenchmarkScore, EvalResult
from evaluators.samples import SampleOutput
from evaluators.scoring import standard_error, task_scorer
from evaluators.vllm_generator import VLLMGenerator
from rlvr.domains import (
    DomainRegistry,
    DomainSpec,
    UndecodableImageError,
    load_records,
    prompt_messages,
)
from rlvr.domains.loading import MAX_BAD_FRACTION
from rlvr.domains.spec import TEST
from rlvr.models import load_model_and_processor
from rlvr.rewards import follows_format
from rlvr.rewards.parsing import answer_content

# Prompts decoded and generated at once: bounds the decoded images held in memory.
CHUNK_BATCHES = 8


@dataclass(frozen=True)
class BenchmarkRun:
    """One benchmark's score and its per-completion outputs."""

    score: BenchmarkScore
    samples: tuple[SampleOutput, ...]


def benchmark_names(registry: DomainRegistry) -> tuple[str, ...]:
    """The names of the registered domains that have a test split, sorted."""
    return tuple(spec.name for spec in registry if spec.test_source is not None)


def resolve_benchmarks(registry: DomainRegistry, names: Iterable[str]) -> tuple[DomainSpec, ...]:
    """The domains to score, in the order given.

    Raises:
        UnknownBenchmarkError: no names, a name given twice, or a name that is not registered
            (the message lists the benchmarks there are).
        NoTestSplitError: a registered domain without a test split.
    """
    names = list(names)
    known = ", ".join(benchmark_names(registry)) or "(none)"
    if not names:
        raise UnknownBenchmarkError(f"no benchmark given; benchmarks: {known}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UnknownBenchmarkError(f"benchmark(s) given twice: {', '.join(repeated)}")
    specs = []
    for name in names:
        if name not in registry:
            raise UnknownBenchmarkError(f"unknown benchmark {name!r}; benchmarks: {known}")
        spec = registry.get(name)
        if spec.test_source is None:
            raise NoTestSplitError(
                f"domain {name!r} has no test split to evaluate on (give it a `test_source`); "
                f"benchmarks: {known}"
            )
        specs.append(spec)
    return tuple(specs)


def score_benchmark(
    generator: Generator,
    spec: DomainSpec,
    settings: GenerationSettings,
    *,
    limit: int | None = None,
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> BenchmarkRun:
    """Generate for and score the test split of ``spec``.

    Args:
        generator: makes the completions.
        spec: the domain (with a test split).
        settings: ``samples_per_prompt``, ``seed`` and ``batch_size`` are read here.
        limit: score only the first ``limit`` records of the test source.
        max_bad_fraction: largest fraction of unreadable test records tolerated.

    Returns:
        The score (``n`` = prompts scored; each prompt's score is the mean over its samples)
        and one `SampleOutput` per completion.

    Raises:
        NothingScoredError: every record was skipped.
        rlvr.domains errors: the split cannot be loaded, or too many records are bad.
    """
    scorer = task_scorer(spec)
    loaded = load_records(spec, TEST, limit=limit, max_bad_fraction=max_bad_fraction)
    skipped = loaded.report.bad
    k = settings.samples_per_prompt
    chunk = settings.batch_size * CHUNK_BATCHES
    prompt_scores: list[float] = []
    samples: list[SampleOutput] = []
    formats = 0
    for start in range(0, len(loaded), chunk):
        ids, prompts, images, solutions = [], [], [], []
        for index in range(start, min(start + chunk, len(loaded))):
            try:
                record = loaded[index]
            except UndecodableImageError:  # a truncated file found only when decoded
                skipped += 1
                continue
            ids.append(f"{spec.name}/{loaded.source_index(index)}")
            prompts.extend([prompt_messages(spec, record.problem)] * k)
            images.extend([record.image] * k)
            solutions.extend([record.solution] * k)
        if not ids:
            continue
        # Seeds follow the position in the benchmark, so chunking does not change samples.
        completions = generator.generate(prompts, images, seed=settings.seed + start * k)
        scores = scorer.score(completions, solutions)
        for p, prompt_id in enumerate(ids):
            mine = range(p * k, (p + 1) * k)
            prompt_scores.append(math.fsum(scores[i] for i in mine) / k)
            for sample, i in enumerate(mine):
                follows = follows_format(completions[i])
                formats += follows
                samples.append(
                    SampleOutput(
                        benchmark=spec.name, prompt_id=prompt_id, sample=sample,
                        completion=completions[i],
                        answer=answer_content(completions[i]),
                        parsed=scorer.parsed_answer(completions[i]),
                        score=scores[i], follows_format=follows,
                    )
                )
    if not prompt_scores:
        raise NothingScoredError(
            f"benchmark {spec.name!r}: all {skipped} test records were skipped; nothing to score"
        )
    n = len(prompt_scores)
    score = BenchmarkScore(
        metric=scorer.metric,
        score=math.fsum(prompt_scores) / n,
        n=n,
        n_skipped=skipped,
        stderr=standard_error(prompt_scores, binary=scorer.binary and k == 1),
        kind=spec.evaluation,
        format_rate=formats / len(samples),
        samples_per_prompt=k,
    )
    return BenchmarkRun(score=score, samples=tuple(samples))


def evaluate_with(
    generator: Generator,
    specs: Sequence[DomainSpec],
    settings: GenerationSettings,
    *,
    checkpoint: str,
    step: int | None = None,
    limit: int | None = None,
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> tuple[EvalResult, list[SampleOutput]]:
    """Score ``specs`` with ``generator``; the result and every completion's output.

    Raises:
        See `score_benchmark`.
    """
    runs = {
        spec.name: score_benchmark(
            generator, spec, settings, limit=limit, max_bad_fraction=max_bad_fraction
        )
        for spec in specs
    }
    scores = {name: run.score for name, run in runs.items()}
    result = EvalResult(
        checkpoint=checkpoint,
        step=step,
        benchmarks=scores,
        objectives=objectives_of(scores),
        settings={**settings.model_dump(mode="json"), "limit": limit},
    )
    return result, [sample for run in runs.values() for sample in run.samples]


def evaluate_checkpoint(
    checkpoint: str | Path,
    benchmarks: Iterable[str],
    registry: DomainRegistry,
    settings: GenerationSettings | None = None,
    *,
    limit: int | None = None,
    step: int | None = None,
    device: str | None = None,
    dtype: Any = None,
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> tuple[EvalResult, list[SampleOutput]]:
    """Load a checkpoint and score it on the test splits of ``benchmarks``.

    Args:
        checkpoint: a model folder with its processor (or a cached hub id).
        benchmarks: domain names of ``registry``, each with a test split.
        registry: where the names are looked up.
        settings: generation settings; `GenerationSettings()` (greedy) by default.
        limit: first ``limit`` test records per benchmark (quick checks).
        step: the training step; read from the folder (`checkpoint_step`) when None.
        device: where to run the HF model (``"cuda:0"``, ``"cpu"``); CPU when None. Not used
            by the vLLM backend, which takes the visible GPU(s).
        dtype: weight dtype passed to transformers (None: its default); HF backend only.
        max_bad_fraction: largest fraction of unreadable test records tolerated.

    Raises:
        UnknownBenchmarkError, NoTestSplitError: bad benchmark names (checked first).
        GeneratorUnavailableError: the requested backend cannot run here.
        rlvr.models.ModelLoadError: a missing checkpoint, one without a processor.
        NothingScoredError, rlvr.domains errors: see `score_benchmark`.
    """
    settings = settings or GenerationSettings()
    specs = resolve_benchmarks(registry, benchmarks)
    generator: Generator
    if select_backend(settings.backend) == "vllm":
        generator = VLLMGenerator(checkpoint, settings)  # vLLM places it on the GPU(s)
    else:
        model, processor = load_model_and_processor(str(checkpoint), dtype=dtype, device=device)
        generator = HFGenerator(model, processor, settings)
    return evaluate_with(
        generator,
        specs,
        settings,
        checkpoint=str(checkpoint),
        step=step if step is not None else checkpoint_step(checkpoint),
        limit=limit,
        max_bad_fraction=max_bad_fraction,
    )
