"""Rewards by name: the five built-ins, and registries that users extend."""

from __future__ import annotations

from collections.abc import Mapping

from rlvr.rewards.accuracy import accuracy_math, accuracy_mc
from rlvr.rewards.format import format_reward
from rlvr.rewards.iou import iou_detection, iou_grounding
from rlvr.rewards.reward_fn import RewardFn


class UnknownRewardError(KeyError):
    """A reward name that the registry does not hold; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would print the message inside quotes
        return str(self.args[0])


class RewardRegistry:
    """Reward functions by name. Refuses duplicate names.

    Args:
        rewards: initial name -> reward function.

    Raises:
        ValueError: a duplicate or empty name, or a reward that is not callable.
    """

    def __init__(self, rewards: Mapping[str, RewardFn] | None = None) -> None:
        self._rewards: dict[str, RewardFn] = {}
        for name, fn in (rewards or {}).items():
            self.register(name, fn)

    def register(self, name: str, fn: RewardFn) -> None:
        """Add ``fn`` under ``name``. Raises ValueError if the name is taken or invalid."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a reward name must be a non-empty string, got {name!r}")
        if name in self._rewards:
            raise ValueError(f"a reward named {name!r} is already registered")
        if not callable(fn):
            raise ValueError(f"reward {name!r} is not callable: {fn!r}")
        self._rewards[name] = fn

    def get(self, name: str) -> RewardFn:
        """The reward called ``name``. Raises `UnknownRewardError` (a KeyError) listing names."""
        try:
            return self._rewards[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name
            raise UnknownRewardError(
                f"unknown reward {name!r}; known rewards: {', '.join(self.names())}"
            ) from None

    def names(self) -> tuple[str, ...]:
        """The registered names, sorted."""
        return tuple(sorted(self._rewards))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._rewards

    def copy(self) -> RewardRegistry:
        """A new registry with the same rewards, to extend without touching this one."""
        return RewardRegistry(self._rewards)


def builtin_registry() -> RewardRegistry:
    """A new registry holding the built-in rewards (``format``, ``accuracy_mc``,
    ``accuracy_math``, ``iou_grounding``, ``iou_detection``)."""
    return RewardRegistry(
        {
            "format": format_reward,
            "accuracy_mc": accuracy_mc,
            "accuracy_math": accuracy_math,
            "iou_grounding": iou_grounding,
            "iou_detection": iou_detection,
        }
    )
