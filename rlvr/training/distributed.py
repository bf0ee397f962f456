"""Which process of an `accelerate launch` (torchrun) group this is."""

from __future__ import annotations

import os


def is_main_process() -> bool:
    """True in a single process and in rank 0 of a launched group (torchrun sets ``RANK``):
    the one process that writes result files, logs to MLflow and prints summaries."""
    return int(os.environ.get("RANK", "0")) == 0
