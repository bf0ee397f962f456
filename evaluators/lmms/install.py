"""Whether lmms-eval can be imported here, and how to install it when it cannot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from evaluators.lmms.errors import LmmsEvalNotInstalledError

MODULE = "lmms_eval"
INSTALL_HINT = (
    "lmms-eval is not installed; install it with "
    "pip install 'mixopt[eval]' 'torch==2.13.0' 'math-verify>=0.8' "
    "(pinning torch and math-verify keeps pip from swapping in a CUDA torch and "
    "math-verify 0.1.0; lmms_eval.evaluator also needs a torchvision that works with that torch)"
)


def lmms_eval_location() -> Path:
    """The folder of the importable ``lmms_eval`` package.

    Raises:
        LmmsEvalNotInstalledError: it cannot be found (the message says how to install it).
    """
    try:
        spec = importlib.util.find_spec(MODULE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise LmmsEvalNotInstalledError(INSTALL_HINT)
    return Path(next(iter(spec.submodule_search_locations)))
