"""rlvr's user-facing errors as `MixoptError`, so the `mixopt` entry point prints one red line.

Only errors that describe a user's mistake or environment are translated; anything else (a bug)
still raises with its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mixopt.errors import MixoptError
from rlvr.config_files import ConfigFileError
from rlvr.domains import (
    SourceFormatError,
    SourceUnavailableError,
    TooManyBadRecordsError,
    UndecodableImageError,
    UnknownDomainError,
    UnknownSplitError,
)
from rlvr.models import ModelLoadError
from rlvr.training import TrainingError

USER_ERRORS = (
    ConfigFileError,  # JobError, DomainFileError: one line per problem
    UnknownDomainError,
    UnknownSplitError,
    SourceUnavailableError,
    SourceFormatError,
    TooManyBadRecordsError,
    UndecodableImageError,
    ModelLoadError,
    TrainingError,
)


def one_line(error: BaseException) -> str:
    """The error's message on one line (a multi-line report joined with ``"; "``)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines) or type(error).__name__


@contextlib.contextmanager
def as_mixopt_errors() -> Iterator[None]:
    """Re-raise rlvr's user-facing errors (`USER_ERRORS`) inside the block as `MixoptError`."""
    try:
        yield
    except USER_ERRORS as error:
        raise MixoptError(one_line(error)) from error
