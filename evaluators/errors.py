"""The errors of `evaluators`: one base class, one-line messages that say what to do."""

from __future__ import annotations


class EvaluationError(ValueError):
    """Base class: an evaluation that cannot run or would give a meaningless score."""


class UnknownBenchmarkError(EvaluationError):
    """A benchmark name that is not a registered domain with a test split; lists the known ones."""


class NoTestSplitError(EvaluationError):
    """A registered domain that has no held-out test split to score on."""


class NothingScoredError(EvaluationError):
    """Every sample of a benchmark was skipped: refusing to report a score of 0."""


class GeneratorUnavailableError(EvaluationError):
    """The requested generation backend cannot run here (not installed, no GPU)."""


class ResultFileError(EvaluationError):
    """An ``eval.json`` that cannot be read (not JSON, another schema version, invalid)."""


class ObjectiveError(EvaluationError):
    """An objective that cannot be computed (no benchmark of its kind, bad weights)."""
