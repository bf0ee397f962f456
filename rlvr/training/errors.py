"""Errors of a training run that a user can act on; each message is one line saying what to do."""

from __future__ import annotations


class TrainingError(Exception):
    """Base class: a training run that cannot start or could not finish; one-line message."""


class GenerationBackendUnavailableError(TrainingError):
    """The job's generation backend (vLLM) is not installed here."""


class OutputDirConflictError(TrainingError):
    """The output folder holds another job's run; resuming it would mix two runs."""


class ProcessCountError(TrainingError):
    """The job's ``grpo.num_processes`` differs from the processes actually launched."""


class TrainingOutOfMemoryError(TrainingError):
    """Training ran out of (GPU or CPU) memory; the message names the knobs that use less."""


class PromptTooLongError(TrainingError):
    """A prompt (text and image tokens) is longer than the job's ``grpo.max_prompt_length``."""
