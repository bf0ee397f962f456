"""Plain progress lines of a GRPO run for logs (`rlvr.progress`), from the trainer's own logs.

transformers' tqdm bar is unreadable in a file (carriage returns). When stderr is not a
terminal, `PlainProgressCallback` prints ``training: step 12/40 (30%), loss 0.0123, reward
0.41, elapsed 1m02s, left ~2m25s`` every ``interval_s`` seconds and at the last step.
"""

from __future__ import annotations

import math
from typing import TextIO

from transformers import TrainerCallback

from rlvr.progress import DEFAULT_INTERVAL_S, PlainProgress


class PlainProgressCallback(TrainerCallback):
    """Plain progress lines from the trainer's log calls (main process only).

    Args:
        interval_s: least seconds between two lines.
        stream: where lines go (stderr when None); silent on a terminal (`PlainProgress`).
    """

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S, stream: TextIO | None = None):
        self.interval_s = interval_s
        self.stream = stream
        self.progress: PlainProgress | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and state.max_steps > 0:
            self.progress = PlainProgress("training", state.max_steps, stream=self.stream,
                                          interval_s=self.interval_s, start=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        # A step's log holds its loss; the summary at the end (train_loss, runtime) does not.
        if self.progress is None or not logs or "loss" not in logs:
            return
        loss, reward = _number(logs.get("loss")), _number(logs.get("reward"))
        self.progress.update(state.global_step, loss=loss,
                             extra="" if reward is None else f"reward {reward:.4g}")


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
