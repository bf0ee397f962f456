"""`EvalResult`: the versioned ``eval.json`` that scoring a checkpoint leaves behind.

One file per checkpoint: the score of each benchmark (with its metric, sample count, skipped
records and standard error), the checkpoint and training step it came from, the generation
settings, and the aggregated objectives (`evaluators.objectives`). Written atomically.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evaluators.errors import ResultFileError
from rlvr.atomic_write import write_text_atomic

SCHEMA_VERSION = 1
RESULT_FILE = "eval.json"
IN_DOMAIN = "in_domain"
OUT_OF_DOMAIN = "out_of_domain"
BenchmarkKind = Literal["in_domain", "out_of_domain"]
_CONFIG = ConfigDict(frozen=True, extra="forbid")


class BenchmarkScore(BaseModel):
    """The score of one checkpoint on one benchmark.

    ``n`` counts scored prompts; with several samples per prompt each prompt's score is the mean
    over its samples, and ``stderr`` is taken over prompts.
    """

    model_config = _CONFIG

    metric: str = Field(min_length=1, description="What `score` is: accuracy, mean_iou, ...")
    score: float = Field(description="The benchmark's score (0-1 for the verifiable ones).")
    n: int = Field(ge=1, description="Prompts scored.")
    n_skipped: int = Field(default=0, ge=0, description="Test records skipped as unreadable.")
    stderr: float | None = Field(
        default=None,
        ge=0.0,
        description="Standard error of `score`: binomial sqrt(p(1-p)/n) for accuracy with one "
        "sample per prompt, else sample std / sqrt(n); None when it cannot be estimated (n=1).",
    )
    kind: BenchmarkKind = Field(
        default=IN_DOMAIN, description="in_domain (a training domain's test split) or not."
    )
    format_rate: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Fraction of completions that follow <think>...</think><answer>...</answer>.",
    )
    samples_per_prompt: int = Field(default=1, ge=1, description="Completions per prompt.")

    @field_validator("score")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be finite, got {value}")
        return value


class EvalResult(BaseModel):
    """Everything one evaluation of one checkpoint produced (``eval.json``).

    Raises:
        pydantic.ValidationError: on construction, for every invalid field at once.
    """

    model_config = _CONFIG

    schema_version: Literal[1] = SCHEMA_VERSION
    checkpoint: str = Field(min_length=1, description="Folder or hub id that was scored.")
    step: int | None = Field(default=None, ge=0, description="Training step; None if unknown.")
    benchmarks: dict[str, BenchmarkScore] = Field(description="Benchmark name -> its score.")
    objectives: dict[str, float] = Field(
        default_factory=dict, description="Aggregated objectives, e.g. in_score, out_score."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="How it was scored (backend, tokens, seed, limit...)."
    )

    def to_json(self) -> str:
        """The result as indented JSON, ending with a newline."""
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


def write_result(result: EvalResult, path: Path) -> Path:
    """Write ``result`` to ``path`` atomically (temporary file + ``os.replace``); returns it."""
    return write_text_atomic(Path(path), result.to_json())


def read_result(path: Path) -> EvalResult:
    """The result stored at ``path``.

    Raises:
        ResultFileError: no such file, not JSON, another schema version, or invalid content
            (one line naming the file).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such evaluation result") from None
    except (OSError, ValueError) as error:
        raise ResultFileError(f"{path}: not a JSON evaluation result ({error})") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise ResultFileError(f"{path}: schema_version {version!r}, expected {SCHEMA_VERSION}")
    try:
        return EvalResult.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in error.errors()
        )
        raise ResultFileError(f"{path}: invalid evaluation result: {problems}") from None
