"""Errors raised by `mixopt`. Every user-facing error is one line that names what is wrong."""

from __future__ import annotations


class MixoptError(Exception):
    """Base class: a user mistake or an unrecoverable numerical failure; one-line message."""


class MixtureError(MixoptError, ValueError):
    """A mixture or a search space is invalid (negative, not summing to 1, unknown domain, ...)."""


class ObservationError(MixoptError, ValueError):
    """An observations file or table is malformed. The message names the file, row and column."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.source, self.row, self.column = source, row, column
        where = [part for part in (
            source,
            f"row {row}" if row is not None else None,
            f"column {column!r}" if column is not None else None,
        ) if part]
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class FitError(MixoptError, RuntimeError):
    """A surrogate could not be fitted (too few observations, numerically singular, ...)."""
