"""Thread settings for small models: a context manager, so no global setting leaks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


def idle_cores() -> int:
    """The cores that other work leaves idle now: the CPU count less the 1-minute load
    average (rounded), at least 1. A CPU-bound training loop run with more threads than this
    oversubscribes the cores: measured on 2 cores beside one busy process, warm-start steps
    took 0.26 s with 1 thread and 0.48 s with 2 (docs/PERFORMANCE.md section 7)."""
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        return cpus
    return max(1, min(cpus, cpus - round(load)))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads, then restore the previous number.

    Small GP matrices (tens of points) gain nothing from threads; on 2 shared cores extra
    threads oversubscribe them (measured: a GP fit 0.2 s with 1 thread, 0.5-5 s with 2 under
    load). Around model training, give it `idle_cores()`.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
