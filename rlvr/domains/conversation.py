"""A record as one row of TRL's conversational multimodal format, for `GRPOTrainer`.

The row::

    {"prompt": [{"role": "system", "content": [{"type": "text", "text": ...}]},   # optional
                {"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": <prompt text>}]}],
     "image": <PIL.Image>, "solution": "<answer>...</answer>", "domain": "<name>"}

The column is ``image`` (one image per prompt): TRL 1.16's ``GRPOTrainer`` reads ``images`` (a
list) if the row has it, else ``image`` (``trl/trainer/grpo_trainer.py``,
``_generate_and_score_completions``, lines 2400-2403), and fills the ``{"type": "image"}``
placeholder with it (``trl.data_utils.prepare_multimodal_messages``). ``image``, ``images`` and
``prompt`` are its signature columns (line 1249); ``solution`` and ``domain`` reach the reward
functions as keyword arguments (lines 1584-1585) because GRPOConfig keeps unused columns by
default (``remove_unused_columns=False``).
"""

from __future__ import annotations

from typing import Any

from rlvr.domains.loading import Record
from rlvr.domains.spec import DomainSpec

IMAGE_COLUMN = "image"


def prompt_messages(spec: DomainSpec, problem: str) -> list[dict[str, Any]]:
    """The chat messages of a prompt: the optional system message, then the user turn with
    the image placeholder and the domain's prompt text (see `DomainSpec.prompt_text`)."""
    messages: list[dict[str, Any]] = []
    if spec.system_prompt is not None:
        messages.append(
            {"role": "system", "content": [{"type": "text", "text": spec.system_prompt}]}
        )
    messages.append(
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": spec.prompt_text(problem)}],
        }
    )
    return messages


def to_conversation(record: Record, spec: DomainSpec) -> dict[str, Any]:
    """One TRL row (see the module docstring) for ``record`` of the domain ``spec``."""
    return {
        "prompt": prompt_messages(spec, record.problem),
        IMAGE_COLUMN: record.image,
        "solution": record.solution,
        "domain": spec.name,
    }
