"""Out-of-domain benchmarks through lmms-eval (ChartQA, InfoVQA, MathVista, MMMU).

lmms-eval runs in a subprocess (``python -m lmms_eval``); only the results file it writes is
read. It is the optional ``eval`` extra; without it `evaluate_lmms` says how to install it.
"""

from evaluators.lmms.command import DEFAULT_MODEL, build_command, format_model_args
from evaluators.lmms.errors import (
    LmmsEvalNotInstalledError,
    LmmsEvalRunError,
    LmmsResultsError,
    MathVistaExtractionError,
)
from evaluators.lmms.install import INSTALL_HINT, lmms_eval_location
from evaluators.lmms.mathvista import EXTRACTIONS, check_extraction, installed_extraction
from evaluators.lmms.registry import (
    LMMS_BENCHMARKS,
    LmmsBenchmark,
    is_lmms_benchmark,
    parse_lmms_task,
    resolve_lmms_benchmarks,
)
from evaluators.lmms.results import find_results_file, parse_results
from evaluators.lmms.runner import evaluate_lmms, run_lmms_eval

__all__ = [
    "DEFAULT_MODEL",
    "EXTRACTIONS",
    "INSTALL_HINT",
    "LMMS_BENCHMARKS",
    "LmmsBenchmark",
    "LmmsEvalNotInstalledError",
    "LmmsEvalRunError",
    "LmmsResultsError",
    "MathVistaExtractionError",
    "build_command",
    "check_extraction",
    "evaluate_lmms",
    "find_results_file",
    "format_model_args",
    "installed_extraction",
    "is_lmms_benchmark",
    "lmms_eval_location",
    "parse_lmms_task",
    "parse_results",
    "resolve_lmms_benchmarks",
    "run_lmms_eval",
]
