"""What a verifiable benchmark scores: the domain's task reward, without the format gate.

The score of a completion is the weighted mean of the domain's non-format rewards -- the same
functions the trainer uses (`rlvr.rewards`), so evaluation and training read answers with the
same parsers. Not gated on the format: a test score should measure whether the answer is right;
how often the completions follow ``<think>...</think><answer>...</answer>`` is reported apart
(``format_rate``). The answer must still sit in an ``<answer>`` block: that is how every reward
finds it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaluators.errors import EvaluationError
from rlvr import rewards
from rlvr.domains import AnswerType, DomainSpec
from rlvr.rewards.parsing import (
    answer_content,
    parse_box,
    parse_detections,
    parse_option_letter,
)

FORMAT = "format"
# The metric each task reward measures; a domain mixing several reports "task_reward".
METRIC_OF_REWARD = {
    "accuracy_mc": "accuracy",
    "accuracy_math": "accuracy",
    "iou_grounding": "mean_iou",
    "iou_detection": "detection_score",
}
BINARY_REWARDS = frozenset({"accuracy_mc", "accuracy_math"})
MIXED_METRIC = "task_reward"


@dataclass(frozen=True)
class TaskScorer:
    """Scores completions of one domain with its task rewards (weights summing to 1).

    Attributes:
        metric: the metric's name (``accuracy``, ``mean_iou``, ``detection_score``,
            ``task_reward``).
        binary: every score is 0 or 1 (accuracy), so the binomial standard error applies.
        weights: ``(reward name, weight)`` pairs, weights summing to 1.
        answer_type: what the ``<answer>`` holds, for `parsed_answer`.
    """

    metric: str
    binary: bool
    weights: tuple[tuple[str, float], ...]
    answer_type: AnswerType

    def score(self, completions: Sequence[str], solutions: Sequence[str]) -> list[float]:
        """One score in [0, 1] per completion (``len(completions) == len(solutions)``)."""
        totals = [0.0] * len(completions)
        for name, weight in self.weights:
            values = rewards.get(name)(list(completions), solution=list(solutions))
            totals = [total + weight * value for total, value in zip(totals, values, strict=True)]
        return totals

    def parsed_answer(self, completion: str) -> Any:
        """What the parsers read from the completion's ``<answer>`` (JSON-serializable):
        a letter, ``[x1, y1, x2, y2]``, a list of ``{"position", "confidence"}``, the math text;
        None when nothing could be read."""
        content = answer_content(completion)
        if self.answer_type == "option_letter":
            return parse_option_letter(content)
        if self.answer_type == "box":
            box = parse_box(content)
            return None if box is None else list(box)
        if self.answer_type == "box_list":
            detections = parse_detections(content)
            if detections is None:
                return None
            return [
                {"position": None if d.box is None else list(d.box), "confidence": d.confidence}
                for d in detections
            ]
        return content


def task_scorer(spec: DomainSpec) -> TaskScorer:
    """The scorer of a domain: its non-format rewards, weights renormalized to sum to 1.

    Raises:
        EvaluationError: the domain has no task reward (only ``format``, or zero weights).
    """
    task = [(name, float(w)) for name, w in spec.rewards.items() if name != FORMAT and w > 0]
    if not task:
        raise EvaluationError(
            f"domain {spec.name!r} has no task reward to score (only {FORMAT!r})"
        )
    total = sum(weight for _, weight in task)
    names = {name for name, _ in task}
    metrics = {METRIC_OF_REWARD.get(name, name) for name in names}
    return TaskScorer(
        metric=metrics.pop() if len(metrics) == 1 else MIXED_METRIC,
        binary=names <= BINARY_REWARDS,
        weights=tuple((name, weight / total) for name, weight in task),
        answer_type=spec.answer_type,
    )


def standard_error(values: Sequence[float], *, binary: bool) -> float | None:
    """Standard error of the mean of ``values`` (one per prompt).

    Binomial ``sqrt(p (1 - p) / n)`` when ``binary`` (0/1 scores), else the sample standard
    deviation (``ddof=1``) over ``sqrt(n)``; None for a non-binary mean of a single value.

    Raises:
        ValueError: no values.
    """
    n = len(values)
    if n == 0:
        raise ValueError("standard_error needs at least one value")
    mean = math.fsum(values) / n
    if binary:
        return math.sqrt(max(mean * (1.0 - mean), 0.0) / n)
    if n < 2:
        return None
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return math.sqrt(variance / n)
