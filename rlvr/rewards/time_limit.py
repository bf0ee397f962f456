"""A sub-second time limit for pure-Python work (sympy), through SIGALRM in the main thread."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator


class TimeLimitExceeded(BaseException):
    """Raised inside the limited block when its time is up.

    A BaseException, so that libraries that catch ``Exception`` (math-verify does) let it
    through to the caller of `time_limit`.
    """


def can_limit_time() -> bool:
    """Whether `time_limit` is effective here: signals reach only the main thread."""
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise `TimeLimitExceeded` in the block if it runs longer than ``seconds``.

    Uses ``signal.setitimer(ITIMER_REAL)``, so it works only in the main thread: elsewhere (or
    with ``seconds`` None) the block runs without a limit. A timer and SIGALRM handler set by
    the caller (e.g. pytest-timeout) are restored afterwards, the timer with its remaining
    time. Pure-Python code is interrupted between bytecodes; a single long C call is not.

    Raises:
        ValueError: ``seconds`` is not positive.
    """
    if seconds is None or not can_limit_time():
        yield
        return
    if not seconds > 0:
        raise ValueError(f"a time limit must be positive, got {seconds}")
    armed = True

    def on_alarm(signum: int, frame: object) -> None:
        if armed:
            raise TimeLimitExceeded(f"over {seconds} s")

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        try:
            yield
        finally:
            # From here on a late alarm is harmless; if it fired just before, its exception
            # still reaches the outer `finally`, which restores everything.
            armed = False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:
            remaining = max(previous_delay - (time.monotonic() - started), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)
