"""Which training step a checkpoint folder holds, read from how the trainer lays folders out.

The trainer (`rlvr.training`) writes ``checkpoint-<step>/`` folders (with the transformers
``trainer_state.json``) and, at the end, ``final/`` beside ``train_result.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_CHECKPOINT_DIR = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
# Written by rlvr.training.result; read as plain JSON to avoid importing the trainer (TRL).
TRAIN_RESULT = "train_result.json"
FINAL_DIR = "final"


def checkpoint_step(checkpoint: str | Path) -> int | None:
    """The training step of a checkpoint, or None when nothing says.

    In order: a ``checkpoint-<step>`` folder name; its ``trainer_state.json`` ``global_step``;
    for a ``final`` folder, the ``steps`` of the ``train_result.json`` beside it. Never raises
    (unreadable files count as absent).
    """
    path = Path(checkpoint)
    match = _CHECKPOINT_DIR.match(path.name)
    if match:
        return int(match.group(1))
    step = _read_int(path / TRAINER_STATE, "global_step")
    if step is None and path.name == FINAL_DIR:
        step = _read_int(path.parent / TRAIN_RESULT, "steps")
    return step


def _read_int(path: Path, key: str) -> int | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    is_step = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if is_step else None
