"""Objectives from benchmark scores: the reference's In-Score and Out-Score, and their value
across the checkpoints of one training run.

In-Score (Out-Score) is the mean of the in-domain (out-of-domain) benchmark scores weighted by
test-set size ``n``, as in MoDoMoDo; custom weights replace the sizes. Across checkpoints the
reference uses the ``last`` checkpoint's value or the mean over the evaluated steps
(``step_mean``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from evaluators.errors import ObjectiveError
from evaluators.result import IN_DOMAIN, OUT_OF_DOMAIN, BenchmarkKind, BenchmarkScore, EvalResult

IN_SCORE = "in_score"
OUT_SCORE = "out_score"
KIND_OF_OBJECTIVE: dict[str, BenchmarkKind] = {IN_SCORE: IN_DOMAIN, OUT_SCORE: OUT_OF_DOMAIN}
CheckpointMode = Literal["last", "step_mean"]


def weighted_score(
    scores: Mapping[str, BenchmarkScore], weights: Mapping[str, float] | None = None
) -> float:
    """``sum_b w_b s_b / sum_b w_b`` over ``scores``; ``w_b = n_b`` unless ``weights`` is given.

    With ``weights``, only the benchmarks named there count (a weight of 0 leaves one out).

    Raises:
        ObjectiveError: no benchmarks; a weight that is negative or not finite; all weights
            zero; a weighted benchmark missing from ``scores``.
    """
    if weights is None:
        weights = {name: float(score.n) for name, score in scores.items()}
    missing = sorted(set(weights) - set(scores))
    if missing:
        raise ObjectiveError(
            f"weights name benchmark(s) {', '.join(missing)} that were not scored; scored: "
            f"{', '.join(sorted(scores)) or '(none)'}"
        )
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ObjectiveError(f"weight of {name!r} is not a number: {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ObjectiveError(f"weight of {name!r} must be finite and >= 0, got {weight}")
    total = math.fsum(weights.values())
    if total <= 0:
        raise ObjectiveError("no benchmark to aggregate (no weights, or all zero)")
    return math.fsum(w * scores[name].score for name, w in weights.items()) / total


def kind_score(
    scores: Mapping[str, BenchmarkScore],
    kind: BenchmarkKind,
    weights: Mapping[str, float] | None = None,
) -> float:
    """`weighted_score` over the benchmarks of one ``kind`` (custom ``weights`` must name
    benchmarks of that kind).

    Raises:
        ObjectiveError: no benchmark of that kind, or see `weighted_score`.
    """
    of_kind = {name: score for name, score in scores.items() if score.kind == kind}
    if not of_kind:
        raise ObjectiveError(f"no {kind.replace('_', '-')} benchmark was scored")
    return weighted_score(of_kind, weights)


def in_score(
    scores: Mapping[str, BenchmarkScore], weights: Mapping[str, float] | None = None
) -> float:
    """In-Score: the in-domain benchmarks' mean weighted by ``n`` (or ``weights``)."""
    return kind_score(scores, IN_DOMAIN, weights)


def out_score(
    scores: Mapping[str, BenchmarkScore], weights: Mapping[str, float] | None = None
) -> float:
    """Out-Score: the out-of-domain benchmarks' mean weighted by ``n`` (or ``weights``)."""
    return kind_score(scores, OUT_OF_DOMAIN, weights)


def objectives_of(scores: Mapping[str, BenchmarkScore]) -> dict[str, float]:
    """``in_score`` and ``out_score`` (size-weighted), each where a benchmark of its kind
    exists; an empty dict when there is none."""
    kinds = {score.kind for score in scores.values()}
    return {
        objective: kind_score(scores, kind)
        for objective, kind in KIND_OF_OBJECTIVE.items()
        if kind in kinds
    }


def across_checkpoints(
    results: Sequence[EvalResult], objective: str, mode: CheckpointMode = "last"
) -> float:
    """One value of ``objective`` for a training run from the results of its checkpoints.

    Args:
        results: one `EvalResult` per checkpoint, any order.
        objective: a key of their ``objectives`` (e.g. ``in_score``).
        mode: ``last``: the value at the highest step; ``step_mean``: the plain mean over
            the checkpoints.

    Raises:
        ObjectiveError: no results; a result without the objective; an unknown mode; for
            ``last`` with several results, a missing or repeated step.
    """
    if not results:
        raise ObjectiveError("no evaluation results to aggregate")
    lacking = [r.checkpoint for r in results if objective not in r.objectives]
    if lacking:
        raise ObjectiveError(f"objective {objective!r} missing from {', '.join(lacking)}")
    if mode == "step_mean":
        return math.fsum(r.objectives[objective] for r in results) / len(results)
    if mode != "last":
        raise ObjectiveError(f"unknown mode {mode!r}; modes: last, step_mean")
    if len(results) == 1:
        return results[0].objectives[objective]
    steps = [r.step for r in results]
    if None in steps or len(set(steps)) != len(steps):
        raise ObjectiveError(f"mode 'last' needs distinct known steps, got {steps}")
    return max(results, key=lambda r: r.step).objectives[objective]
