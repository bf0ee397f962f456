"""A warning when TRL's vLLM importance-sampling correction leaves the samples (almost) no weight.

With a vLLM backend TRL 1.16 recomputes each sampled token's log-probability with the trainer
and weights the loss by the importance ratio exp(trainer - vLLM), per sequence by default
(``vllm_importance_sampling_mode="sequence_mask"``: a sequence whose ratio is above
``vllm_importance_sampling_clip_max`` gets weight 0). When the two disagree by a few tenths of
a nat per token, a 256-token sequence's ratio is ~0 or huge, every sequence's weight is ~0 and
training learns nothing from vLLM's samples, without an error. Seen on the lent H100 with
vLLM 0.24 / TRL 1.16 (docs/PERFORMANCE.md, "vLLM 0.24.0 on the lent GPU": 0.88 nats per
token). `SamplingMismatchWarning` reads TRL's logged ``sampling/importance_sampling_ratio/mean``
and ``sampling/sampling_logp_difference/mean`` and says so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from transformers import TrainerCallback

DEFAULT_STEPS = 3
# A mean weight below this means most samples count for (almost) nothing; a healthy run's
# mean ratio is close to 1.
DEFAULT_MIN_MEAN_RATIO = 0.5
_RATIO = "sampling/importance_sampling_ratio/mean"
_DIFF = "sampling/sampling_logp_difference/mean"
_LOG = logging.getLogger(__name__)


def _number(logs: Mapping[str, Any], key: str) -> float | None:
    value = logs.get(key)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def mismatch_message(steps: int, ratio: float, diff: float | None, args: Any) -> str:
    """The warning after ``steps`` logged generations with mean weight ``ratio``."""
    per_token = (
        "" if diff is None else f", vLLM and the trainer differ by {diff:.3g} nats per token"
    )
    return (
        f"vLLM's samples get almost no weight: TRL's importance-sampling ratio averaged "
        f"{ratio:.3g} over the last {steps} logged generations{per_token} "
        f"(vllm_importance_sampling_mode {getattr(args, 'vllm_importance_sampling_mode', '?')}), "
        "so the policy learns little or nothing from them. Compare with generation.backend: hf "
        "on a few steps; see docs/TRAINING.md (vLLM backends)."
    )


class SamplingMismatchWarning(TrainerCallback):
    """Warns (logging, once per stretch) after ``steps`` logged generations in a row whose mean
    importance-sampling ratio is below ``min_mean_ratio``. Logs without the ratio (no vLLM, or a
    step that reuses a generation) are not counted.

    Args:
        steps: logged generations in a row before warning (>= 1).
        min_mean_ratio: the mean weight below which a generation counts (> 0).
        warn: where the message goes; a `logging` warning by default.

    Attributes:
        messages: the warnings given.

    Raises:
        ValueError: ``steps`` < 1 or ``min_mean_ratio`` <= 0.
    """

    def __init__(self, steps: int = DEFAULT_STEPS, min_mean_ratio: float = DEFAULT_MIN_MEAN_RATIO,
                 *, warn: Callable[[str], None] | None = None):
        if steps < 1 or not min_mean_ratio > 0:
            raise ValueError(f"SamplingMismatchWarning: need steps >= 1 and min_mean_ratio > 0, "
                             f"got {steps} and {min_mean_ratio}")
        self.steps = steps
        self.min_mean_ratio = min_mean_ratio
        self.warn = warn or _LOG.warning
        self.messages: list[str] = []
        self._streak: list[tuple[float, float | None]] = []
        self._warned = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        ratio = _number(logs, _RATIO)
        if ratio is None:
            return
        if ratio >= self.min_mean_ratio:
            self._streak, self._warned = [], False
            return
        self._streak.append((ratio, _number(logs, _DIFF)))
        if len(self._streak) >= self.steps and not self._warned:
            ratios = [r for r, _ in self._streak]
            diffs = [d for _, d in self._streak if d is not None]
            self._warned = True
            message = mismatch_message(len(ratios), sum(ratios) / len(ratios),
                                       sum(diffs) / len(diffs) if diffs else None, args)
            self.messages.append(message)
            self.warn(message)
