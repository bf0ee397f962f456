"""The check of ``grpo.max_prompt_length`` before training.

TRL 1.16 has no prompt-length option for multimodal prompts (cutting one would cut image tokens
and break the model's rope index), so a job that sets a limit gets every prompt of its plan
measured with the processor (text and image tokens, as the trainer builds them) before the
first step; a prompt over the limit stops the run with a message naming it.
"""

from __future__ import annotations

from typing import Any

from rlvr.training.dataset import TrainingData
from rlvr.training.errors import PromptTooLongError

_BATCH = 32


def prompt_token_lengths(data: TrainingData, processor: Any) -> list[int]:
    """Tokens of each prompt of ``data`` (chat template applied, image tokens included)."""
    lengths: list[int] = []
    for start in range(0, len(data.dataset), _BATCH):
        rows = data.dataset[start:start + _BATCH]
        texts = [processor.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
                 for p in rows["prompt"]]
        encoded = processor(text=texts, images=[[im] for im in rows["image"]], padding=True)
        lengths.extend(int(sum(mask)) for mask in encoded["attention_mask"])
    return lengths


def check_prompt_lengths(data: TrainingData, processor: Any, limit: int | None) -> None:
    """Raise `PromptTooLongError` if a prompt of ``data`` has more than ``limit`` tokens.

    Does nothing when ``limit`` is None.
    """
    if limit is None:
        return
    lengths = prompt_token_lengths(data, processor)
    over = [i for i, n in enumerate(lengths) if n > limit]
    if not over:
        return
    worst = max(over, key=lambda i: lengths[i])
    row = data.dataset[worst]
    raise PromptTooLongError(
        f"{len(over)} of {len(lengths)} prompts exceed grpo.max_prompt_length ({limit} tokens); "
        f"the longest has {lengths[worst]} (domain {row['domain']!r}, plan row {worst}); "
        "raise the limit, or lower images.max_pixels (image tokens dominate)"
    )
