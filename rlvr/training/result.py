"""`TrainResult`: the versioned ``train_result.json`` a training run leaves in its output folder.

Written when the run starts (``complete: false``, with the MLflow run id, so that a resumed
attempt logs into the same run) and again when it ends (``complete: true``). Writes are atomic
(a temporary file renamed over the old one): a reader never sees half a file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlvr.atomic_write import write_text_atomic
from rlvr.training.errors import TrainingError

RESULT_FILE = "train_result.json"
SCHEMA_VERSION = 1


class ResultFileError(TrainingError, ValueError):
    """A ``train_result.json`` that cannot be read (not JSON, another schema version)."""


@dataclass(frozen=True)
class TrainResult:
    """The outcome of one training run (``train_result.json``).

    Attributes:
        complete: True once training finished and the final model was saved.
        steps: optimizer steps done (``trainer.state.global_step``).
        samples: the mixture plan's summary: ``mode``, ``num_samples``, ``counts`` (prompts per
            domain, summing to the budget in ``exact`` mode) and ``with_replacement``.
        bad_records: domain -> its bad-record report (``BadRecordReport.summary()``).
        runtime_seconds: wall time of this attempt's training, s (not the earlier attempts').
        final_checkpoint: folder of the final model and processor (None until complete).
        mlflow_run_id: the MLflow run holding the curves.
        mlflow_tracking_uri: its tracking URI (None: MLflow's default).
        resumed_from: the checkpoint this attempt resumed from, or None.
        peak_gpu_memory_gib: the most GPU memory that PyTorch allocated on this (the main)
            process's device during this attempt, GiB (`torch.cuda.max_memory_allocated`);
            None without CUDA.
        schema_version: version of this file format.
    """

    complete: bool
    steps: int
    samples: dict[str, Any]
    bad_records: dict[str, Any]
    runtime_seconds: float
    final_checkpoint: str | None
    mlflow_run_id: str | None
    mlflow_tracking_uri: str | None = None
    resumed_from: str | None = None
    peak_gpu_memory_gib: float | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    def to_json(self) -> str:
        """The result as indented JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"


def write_result(result: TrainResult, output_dir: Path) -> Path:
    """Write ``output_dir/train_result.json`` atomically; returns its path."""
    return write_text_atomic(output_dir / RESULT_FILE, result.to_json())


def read_result(output_dir: Path) -> TrainResult | None:
    """The result in ``output_dir``, or None when there is none.

    Raises:
        ResultFileError: the file is not a version-1 result.
    """
    path = output_dir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ResultFileError(
                f"{path}: schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}"
            )
        return TrainResult(**data)
    except (ValueError, TypeError, AttributeError) as error:
        if isinstance(error, ResultFileError):
            raise
        raise ResultFileError(f"{path}: not a training result ({error})") from None
