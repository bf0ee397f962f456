"""Format gating and the weighted combination of rewards (one combined reward per domain)."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

from rlvr.rewards.format import format_reward
from rlvr.rewards.registry import RewardRegistry, builtin_registry
from rlvr.rewards.reward_fn import RewardFn

FORMAT = "format"
# The reference's weights: the task reward counts twice the format reward.
REFERENCE_TASK_WEIGHT = 2.0
REFERENCE_FORMAT_WEIGHT = 1.0


def gated_by_format(reward: RewardFn, format_fn: RewardFn = format_reward) -> RewardFn:
    """``reward`` times ``format_fn`` (0 or 1): the reward counts only where the format holds.

    For TRL's list of reward functions (each logged apart) with ``reward_weights``; the wrapper
    keeps ``reward``'s ``__name__`` (TRL logs rewards by function name).
    """

    @functools.wraps(reward)
    def gated(completions: Sequence[object], **columns: object) -> list[float]:
        values = reward(completions, **columns)
        formats = format_fn(completions, **columns)
        return [value * fmt for value, fmt in zip(values, formats, strict=True)]

    return gated


def combine(
    weights: Mapping[str, float],
    *,
    gate_on_format: bool = True,
    registry: RewardRegistry | None = None,
) -> RewardFn:
    """One reward: the weighted sum ``sum_r w_r * r`` of named rewards.

    With ``gate_on_format`` (the default, as in the reference's paper) every reward other than
    ``format`` is multiplied by the registry's ``format`` reward (0 or 1), so it counts only
    where the completion follows the format. The reference's weights are
    ``{"accuracy_mc": 2.0, "format": 1.0}`` (or ``iou_*`` in place of ``accuracy_mc``).

    Args:
        weights: reward name -> weight (finite, >= 0, not all zero).
        gate_on_format: gate the non-format rewards on the format.
        registry: where the names are looked up; the built-ins by default.

    Raises:
        UnknownRewardError: a name that the registry does not hold (lists the known ones), or
            no ``format`` in it while gating.
        ValueError: no rewards, or a weight that is not finite and >= 0, or all zero.
    """
    registry = registry if registry is not None else builtin_registry()
    if not weights:
        raise ValueError("combine needs at least one reward")
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"weight of reward {name!r} is not a number: {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of reward {name!r} must be finite and >= 0, got {weight}")
    if not any(weights.values()):
        raise ValueError("all reward weights are zero")
    parts = [(name, registry.get(name), float(w)) for name, w in weights.items()]
    format_fn = registry.get(FORMAT) if gate_on_format else None

    def combined(completions: Sequence[object], **columns: object) -> list[float]:
        formats = format_fn(completions, **columns) if format_fn is not None else None
        totals = [0.0] * len(completions)
        for name, reward, weight in parts:
            if name == FORMAT:
                values = formats if formats is not None else reward(completions, **columns)
                gates = [1.0] * len(completions)
            else:
                values = reward(completions, **columns)
                gates = formats if formats is not None else [1.0] * len(completions)
            for i, (value, gate) in enumerate(zip(values, gates, strict=True)):
                totals[i] += weight * value * gate
        return totals

    return combined
