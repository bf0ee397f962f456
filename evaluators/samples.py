"""Per-sample outputs of an evaluation: one JSON line per completion, beside ``eval.json``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rlvr.atomic_write import write_text_atomic

SAMPLES_SUFFIX = ".samples.jsonl"


class SampleOutput(BaseModel):
    """One scored completion.

    ``prompt_id`` is ``<benchmark>/<index in the test source>``, stable across checkpoints and
    limits, so two evaluations can be joined on it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    benchmark: str
    prompt_id: str
    sample: int = Field(ge=0, description="Which completion of the prompt (0 when greedy).")
    completion: str
    answer: str | None = Field(description="Content of the last <answer> block, or None.")
    parsed: Any = Field(description="What the reward parser read from it (letter, box...).")
    score: float
    follows_format: bool


def samples_path_for(result_path: Path) -> Path:
    """Where the samples of ``eval.json`` go: ``eval.samples.jsonl`` in the same folder."""
    result_path = Path(result_path)
    return result_path.with_name(result_path.stem + SAMPLES_SUFFIX)


def write_samples(samples: Iterable[SampleOutput], path: Path) -> Path:
    """Write the samples as JSONL atomically; returns ``path``."""
    lines = [json.dumps(s.model_dump(mode="json"), ensure_ascii=False) for s in samples]
    return write_text_atomic(Path(path), "".join(line + "\n" for line in lines))


def read_samples(path: Path) -> list[SampleOutput]:
    """The samples of a JSONL file written by `write_samples`.

    Raises:
        OSError: the file cannot be read. pydantic.ValidationError, ValueError: a bad line.
    """
    text = Path(path).read_text(encoding="utf-8")
    return [SampleOutput.model_validate_json(line) for line in text.splitlines() if line.strip()]
