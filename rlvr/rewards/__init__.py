"""TRL-compatible reward functions ``fn(completions, **columns) -> list[float]``, by name.

Built-ins: ``format``, ``accuracy_mc``, ``accuracy_math``, ``iou_grounding``,
``iou_detection``. A reward never raises on what a completion or a solution cell holds (garbage
scores 0.0); it raises only when the batch itself is malformed (see `score_each`).
"""

from rlvr.rewards.accuracy import accuracy_math, accuracy_mc, math_accuracy_reward
from rlvr.rewards.format import follows_format, format_reward
from rlvr.rewards.gating import combine, gated_by_format
from rlvr.rewards.iou import detection_score, iou_detection, iou_grounding
from rlvr.rewards.registry import RewardRegistry, UnknownRewardError, builtin_registry
from rlvr.rewards.reward_fn import RewardFn

# The built-ins, read-only through `get` and `names`; extend a `builtin_registry()` instead.
_BUILTINS = builtin_registry()


def get(name: str) -> RewardFn:
    """The built-in reward called ``name``. Raises `UnknownRewardError` listing the names."""
    return _BUILTINS.get(name)


def names() -> tuple[str, ...]:
    """The names of the built-in rewards, sorted."""
    return _BUILTINS.names()


__all__ = [
    "RewardFn",
    "RewardRegistry",
    "UnknownRewardError",
    "accuracy_math",
    "accuracy_mc",
    "builtin_registry",
    "combine",
    "detection_score",
    "follows_format",
    "format_reward",
    "gated_by_format",
    "get",
    "iou_detection",
    "iou_grounding",
    "math_accuracy_reward",
    "names",
]
