"""The ``format`` reward: ``<think>...</think>`` then ``<answer>...</answer>``, nothing else."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from rlvr.rewards.parsing import completion_text

_TAG = re.compile(r"</?(?:think|answer)>", re.IGNORECASE)
_EXPECTED_TAGS = ["<think>", "</think>", "<answer>", "</answer>"]


def follows_format(text: object) -> bool:
    """Whether the whole text is ``<think>...</think>`` then ``<answer>...</answer>``.

    Exactly one block of each, in that order; only whitespace before, between and after the
    blocks; contents may span lines and be empty (as in the reference). Tags match in any case.
    A tag inside a block (e.g. ``<answer>`` quoted in the reasoning) breaks the format.
    """
    if not isinstance(text, str):
        return False
    # One more tag than expected is enough to refuse; never list the tags of a huge text.
    tags = list(itertools.islice(_TAG.finditer(text), len(_EXPECTED_TAGS) + 1))
    if [tag.group().lower() for tag in tags] != _EXPECTED_TAGS:
        return False
    gaps = (text[: tags[0].start()], text[tags[1].end() : tags[2].start()], text[tags[3].end() :])
    return not any(gap.strip() for gap in gaps)


def format_reward(completions: Sequence[object], **columns: object) -> list[float]:
    """1.0 per completion that `follows_format`, else 0.0 (any object is accepted).

    Raises:
        TypeError: ``completions`` is not a list/tuple.
    """
    if not isinstance(completions, list | tuple):
        raise TypeError(f"format: completions must be a list, got {type(completions)}")
    return [1.0 if follows_format(completion_text(c)) else 0.0 for c in completions]


format_reward.__name__ = "format"
