"""Plain progress lines for logs: long work says how far it is when nobody watches a terminal.

Progress bars (rich, tqdm) draw on a terminal; written to a file or a pipe (``make demo >
demo.log``, a trial's ``train.log``, a Slurm output file) they print nothing, or one line of
carriage returns, until the work ends. `PlainProgress` prints one ordinary line every
``interval_s`` seconds instead, and only when its stream is not a terminal (where a bar
already shows the same)::

    warm start: step 1200/4500 (27%), loss 0.8123, elapsed 2m10s, left ~5m57s

The time left is extrapolated from the steps done since the reporter started (a resumed run's
earlier steps, ``start``, took no time here).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

DEFAULT_INTERVAL_S = 30.0


class PlainProgress:
    """Prints ``label: step done/total (pct), loss x, elapsed t, left ~t`` lines to a stream.

    Args:
        label: what is being done (``"warm start"``, ``"training"``).
        total: steps in all (> 0).
        stream: where lines go; ``sys.stderr`` (as it is at construction) when None.
        interval_s: least seconds between two lines (the last step always gets its line).
        enabled: print or not; by default only when ``stream`` is not a terminal.
        clock: seconds, monotonic (tests pass a fake one).
        unit: the word before the counts (``"step"``, ``"trial"``).
        start: steps already done when the reporter starts (a resumed run); the time left
            is extrapolated from the steps done after it.

    Raises:
        ValueError: ``total`` < 1 or ``interval_s`` < 0.
    """

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "step",
        start: int = 0,
    ) -> None:
        if total < 1 or interval_s < 0:
            raise ValueError(
                f"PlainProgress({label!r}): total must be >= 1 and interval_s >= 0, "
                f"got total={total}, interval_s={interval_s}"
            )
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.interval_s = interval_s
        self.enabled = not _is_terminal(self.stream) if enabled is None else enabled
        self.clock = clock
        self.unit = unit
        self.start = start
        self._started = clock()
        self._last_line: float | None = None
        self._last_done: int | None = None

    def update(self, done: int, *, loss: float | None = None, extra: str = "") -> str | None:
        """Report that ``done`` steps of ``total`` are done; print a line if one is due.

        A line is due on the first call after ``interval_s`` seconds since the last line (or
        the start), and when ``done`` first reaches ``total``.

        Returns:
            The line printed (without the newline), or None.
        """
        if not self.enabled:
            return None
        now = self.clock()
        since = now - (self._last_line if self._last_line is not None else self._started)
        finished = done >= self.total and done != self._last_done
        if since < self.interval_s and not finished:
            return None
        self._last_line, self._last_done = now, done
        line = self.line(done, loss=loss, extra=extra, now=now)
        print(line, file=self.stream, flush=True)
        return line

    def line(
        self, done: int, *, loss: float | None = None, extra: str = "", now: float | None = None
    ) -> str:
        """The line for ``done`` steps (what `update` prints)."""
        now = self.clock() if now is None else now
        elapsed = now - self._started
        parts = [f"{self.label}: {self.unit} {done}/{self.total} ({100 * done / self.total:.0f}%)"]
        if loss is not None:
            parts.append(f"loss {loss:.4f}")
        if extra:
            parts.append(extra)
        parts.append(f"elapsed {format_seconds(elapsed)}")
        here = done - self.start
        if done >= self.total:
            parts.append("done")
        elif here > 0 and elapsed > 0:
            parts.append(f"left ~{format_seconds(elapsed / here * (self.total - done))}")
        return ", ".join(parts)


def format_seconds(seconds: float) -> str:
    """``75.2`` -> ``"1m15s"``, ``3725`` -> ``"1h02m05s"``, ``8.4`` -> ``"8s"``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
