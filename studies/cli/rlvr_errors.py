"""rlvr's user-facing errors as `MixoptError`, so the `mixopt` entry point prints one red line.

Only errors that describe a user's mistake or environment are translated; anything else (a bug)
still raises with its traceback.

The error classes of `rlvr.models` and `rlvr.training` live in packages that import torch and
transformers (seconds), those of `rlvr.domains` in one that imports PIL and its loaders. They
are looked up only when an error is caught, and only if their module is already imported: an
instance of a class can exist only once its module has been imported, so nothing is missed,
and `mixopt --help` never pays for them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from mixopt.errors import MixoptError
from rlvr.config_files import ConfigFileError

_LIGHT_ERRORS: tuple[type[BaseException], ...] = (
    ConfigFileError,  # JobError, DomainFileError: one line per problem
)
# (module, class) of the user errors looked up when caught: rlvr.models and rlvr.training
# import torch, rlvr.domains PIL and its loaders (half of `mixopt --help`'s time).
_HEAVY_ERRORS = (
    ("rlvr.domains.registry", "UnknownDomainError"),
    ("rlvr.domains.spec", "UnknownSplitError"),
    ("rlvr.domains.loading", "SourceUnavailableError"),
    ("rlvr.domains.loading", "SourceFormatError"),
    ("rlvr.domains.loading", "TooManyBadRecordsError"),
    ("rlvr.domains.loading", "UndecodableImageError"),
    ("rlvr.models.loading", "ModelLoadError"),
    ("rlvr.training.errors", "TrainingError"),
)


def user_errors() -> tuple[type[BaseException], ...]:
    """The rlvr error classes that describe a user's mistake, of the modules imported so far."""
    heavy = tuple(
        getattr(sys.modules[module], name)
        for module, name in _HEAVY_ERRORS
        if module in sys.modules
    )
    return _LIGHT_ERRORS + heavy


def one_line(error: BaseException) -> str:
    """The error's message on one line (a multi-line report joined with ``"; "``)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines) or type(error).__name__


@contextlib.contextmanager
def as_mixopt_errors() -> Iterator[None]:
    """Re-raise rlvr's user-facing errors (`user_errors()`) inside the block as `MixoptError`."""
    try:
        yield
    except user_errors() as error:  # evaluated only when an exception arrives
        raise MixoptError(one_line(error)) from error
