"""Route linear_operator's NumericalWarning lines to the log, keep every other warning visible.

Fitting a GP to a few trials often adds jitter to a covariance that is not positive definite
(``NumericalWarning: A not p.d., added jitter of 1.0e-08 to the diagonal``). The fit handles
it; the user can do nothing about it, and dozens of such lines hide the warnings that matter.
`log_numerical_warnings` sends them to the ``mixopt.numerics`` logger at INFO (shown when
logging is configured to show INFO) and passes every other warning to the usual display.
"""

from __future__ import annotations

import logging
import warnings

LOGGER = logging.getLogger("mixopt.numerics")


def is_numerical_warning(category: type[Warning]) -> bool:
    """Whether ``category`` is linear_operator's (or gpytorch's) NumericalWarning, told by
    name so that nothing heavy is imported to check."""
    return category.__name__ == "NumericalWarning" and category.__module__.startswith(
        ("linear_operator", "gpytorch")
    )


def log_numerical_warnings() -> None:
    """Install the routing into `warnings.showwarning` (once; calling again changes nothing)."""
    shown = warnings.showwarning
    if getattr(shown, "routes_numerical_warnings", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if is_numerical_warning(category):
            LOGGER.info("%s:%s: %s: %s", filename, lineno, category.__name__, message)
            return
        shown(message, category, filename, lineno, file, line)

    show.routes_numerical_warnings = True
    warnings.showwarning = show
