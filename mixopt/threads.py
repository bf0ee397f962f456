"""Thread settings for small models: a context manager, so no global setting leaks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads, then restore the previous number.

    Small GP matrices (tens of points) gain nothing from threads; on 2 shared cores extra
    threads oversubscribe them (measured: a GP fit 0.2 s with 1 thread, 0.5-5 s with 2 under
    load). Model training keeps its own setting: use this only around surrogate work.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
