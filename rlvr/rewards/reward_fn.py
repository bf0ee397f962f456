"""The reward-function contract shared by every reward: TRL's ``fn(completions, **columns)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from rlvr.rewards.parsing import completion_text


class RewardFn(Protocol):
    """A TRL reward function: one float per completion.

    ``completions`` is a list of strings or of conversational message lists; the dataset's
    columns (``solution``, ``domain``, ...) and TRL's own keywords (``prompts``,
    ``completion_ids``, ``trainer_state``) arrive as keyword arguments, each column a list with
    one cell per completion.
    """

    __name__: str

    def __call__(self, completions: Sequence[object], **columns: object) -> list[float]: ...


def score_each(
    reward_name: str,
    score: Callable[[str, object], float],
    completions: Sequence[object],
    solution: Sequence[object] | None,
) -> list[float]:
    """Apply ``score(completion text, solution cell)`` to each completion; 0.0 where the
    completion has no text.

    The cells may hold anything (garbage scores 0.0 in ``score``); the batch's *structure* is
    the trainer's contract and is checked.

    Raises:
        TypeError: ``completions`` or ``solution`` is not a list/tuple (``solution`` missing).
        ValueError: ``solution`` does not have one cell per completion.
    """
    if not isinstance(completions, list | tuple):
        raise TypeError(f"{reward_name}: completions must be a list, got {type(completions)}")
    if not isinstance(solution, list | tuple):
        raise TypeError(f"{reward_name}: needs the 'solution' column (a list), got {solution!r}")
    if len(solution) != len(completions):
        raise ValueError(
            f"{reward_name}: {len(completions)} completions but {len(solution)} solutions"
        )
    scores = []
    for completion, cell in zip(completions, solution, strict=True):
        text = completion_text(completion)
        scores.append(0.0 if text is None else float(score(text, cell)))
    return scores
