"""The errors of the lmms-eval adapter (all `EvaluationError`s, one line each)."""

from __future__ import annotations

from evaluators.errors import EvaluationError


class LmmsEvalNotInstalledError(EvaluationError):
    """lmms-eval cannot be imported here; the message says how to install it."""


class LmmsEvalRunError(EvaluationError):
    """An lmms-eval run failed: non-zero exit, timeout, or no results file written."""


class LmmsResultsError(EvaluationError):
    """A results file that lacks a task, its metric, its sample count, or a usable score."""


class MathVistaExtractionError(EvaluationError):
    """The installed lmms-eval would not score MathVista the way that was asked (rule/judge)."""
