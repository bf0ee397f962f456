"""A warning when GRPO has nothing to learn: every completion of a group got the same reward.

GRPO's advantage of a completion is its reward minus the mean reward of its group (the
completions of one prompt). When every group's rewards are equal, every advantage is 0, the
loss and the gradient are 0 (up to the KL term), and training runs for nothing: the usual cases
are a random or untrained model that never writes the answer format, a completion length too
short to finish the format, or a policy collapsed to one answer. `ZeroSignalWarning` reads
TRL's logged metrics and says so after ``steps`` logged steps in a row without signal (and at
the end of a shorter run that had none at all), naming those causes with the run's values.

TRL 1.16 logs per generation batch ``frac_reward_zero_std`` (the fraction of groups whose
rewards have zero std) and ``reward_std`` (std over all rewards); a log without them (a step
that reuses a generation) is not counted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from transformers import TrainerCallback

DEFAULT_STEPS = 5
_LOG = logging.getLogger(__name__)
_EPS = 1e-6


def has_no_signal(logs: Mapping[str, Any]) -> bool | None:
    """Whether the generation batch of a TRL log line had no learning signal (every group of
    completions got equal rewards); None when the log carries no reward statistics."""
    frac = logs.get("frac_reward_zero_std")
    if isinstance(frac, int | float) and math.isfinite(frac):
        return frac >= 1 - _EPS
    std = logs.get("reward_std")
    if isinstance(std, int | float) and math.isfinite(std):
        return std <= _EPS
    return None


def no_signal_message(steps: int, reward: float | None, args: Any, *, whole_run: bool) -> str:
    """The warning for ``steps`` logged steps without signal (``args``: the `GRPOConfig`)."""
    rewards = "" if reward is None else f" (mean reward {reward:.4g})"
    span = f"all {steps} logged steps" if whole_run else f"the last {steps} logged steps"
    causes = [
        "an untrained or random model that never writes the answer format (start from a "
        "warm-started model, e.g. the demo's base: `mixopt demo --out runs/demo`, "
        "runs/demo/models/warm-qwen2vl-*)",
        f"completions too short to finish the format (max_completion_length "
        f"{getattr(args, 'max_completion_length', '?')})",
        f"a learning rate that cannot move the policy, or one so high that it collapsed to one "
        f"answer (learning_rate {getattr(args, 'learning_rate', '?')})",
        f"too little variety per prompt (num_generations {getattr(args, 'num_generations', '?')}"
        f", temperature {getattr(args, 'temperature', '?')})",
    ]
    return (
        f"no learning signal in {span}: every completion of each prompt got the same "
        f"reward{rewards}, so every GRPO advantage is 0 and the policy does not change. "
        "Likely causes: " + "; ".join(causes) + "."
    )


class ZeroSignalWarning(TrainerCallback):
    """Warns (logging, once per stretch) after ``steps`` logged steps in a row without a
    learning signal, and at the end of a run that had no signal in any of fewer steps.

    Args:
        steps: logged steps in a row without signal before warning (>= 1).
        warn: where the message goes; a `logging` warning by default.

    Attributes:
        messages: the warnings given (for tests and callers).

    Raises:
        ValueError: ``steps`` < 1.
    """

    def __init__(self, steps: int = DEFAULT_STEPS, *, warn: Callable[[str], None] | None = None):
        if steps < 1:
            raise ValueError(f"ZeroSignalWarning: steps must be >= 1, got {steps}")
        self.steps = steps
        self.warn = warn or _LOG.warning
        self.messages: list[str] = []
        self._observed = 0
        self._streak = 0
        self._warned = False
        self._reward: float | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        empty = has_no_signal(logs)
        if empty is None:
            return
        self._observed += 1
        if not empty:
            self._streak, self._warned = 0, False
            return
        self._streak += 1
        reward = logs.get("reward")
        self._reward = reward if isinstance(reward, int | float) else None
        if self._streak >= self.steps and not self._warned:
            self._say(no_signal_message(self._streak, self._reward, args, whole_run=False))

    def on_train_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or self._warned:
            return
        if 0 < self._streak == self._observed:  # a short run without any signal
            self._say(no_signal_message(self._streak, self._reward, args, whole_run=True))

    def _say(self, message: str) -> None:
        self._warned = True
        self.messages.append(message)
        self.warn(message)
