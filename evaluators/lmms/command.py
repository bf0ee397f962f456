"""The ``python -m lmms_eval ...`` command line for a checkpoint and some tasks.

Flags as defined in ``lmms_eval/__main__.py`` (``parse_eval_args``): ``--model``,
``--model_args k=v,k=v``, ``--tasks a,b``, ``--batch_size``, ``--output_path``, ``--limit``,
``--log_samples``, ``--include_path`` (a folder of more task YAMLs). ``--model_args`` is split
on commas (``simple_parse_args_string``), so no value may contain one.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from evaluators.errors import EvaluationError
from evaluators.lmms.install import MODULE

DEFAULT_MODEL = "qwen2_vl"  # lmms_eval/models/simple/qwen2_vl.py; Qwen2.5-VL: "qwen2_5_vl"
ArgValue = str | int | float | bool


def _text(value: ArgValue) -> str:
    return str(value) if not isinstance(value, bool) else ("True" if value else "False")


def format_model_args(checkpoint: str | Path, model_args: Mapping[str, ArgValue] | None) -> str:
    """``pretrained=<checkpoint>,k=v,...`` (``pretrained`` first; ``model_args`` may not set it).

    Raises:
        EvaluationError: a key or value with a comma, a key with ``=``, or ``pretrained``
            given in ``model_args``.
    """
    items = {"pretrained": str(checkpoint)}
    for key, value in (model_args or {}).items():
        if key == "pretrained":
            raise EvaluationError("model_args: give the checkpoint, not `pretrained`")
        items[key] = _text(value)
    for key, value in items.items():
        if "," in key or "=" in key or not key:
            raise EvaluationError(f"model_args: bad key {key!r}")
        if "," in value:
            raise EvaluationError(
                f"model_args {key}={value!r}: lmms-eval splits --model_args on commas, so a "
                "value cannot contain one"
            )
    return ",".join(f"{key}={value}" for key, value in items.items())


def build_command(
    checkpoint: str | Path,
    tasks: Sequence[str],
    *,
    output_path: str | Path,
    limit: int | None = None,
    batch_size: int = 1,
    model: str = DEFAULT_MODEL,
    model_args: Mapping[str, ArgValue] | None = None,
    log_samples: bool = False,
    include_path: str | Path | None = None,
    launcher: Sequence[str] | None = None,
) -> list[str]:
    """The argv of one lmms-eval run.

    Args:
        checkpoint: model folder or hub id (``pretrained=``).
        tasks: lmms-eval task names.
        output_path: folder lmms-eval writes ``<model>/<date>_results.json`` under.
        limit: documents per task (lmms-eval: "only for testing").
        batch_size: ``--batch_size``.
        model: lmms-eval model name.
        model_args: more ``--model_args`` (e.g. ``max_pixels``, ``use_flash_attention_2``).
        log_samples: also write per-sample JSONL files.
        include_path: a folder of user task YAMLs (``--include_path``).
        launcher: what runs lmms-eval; default ``[sys.executable, "-m", "lmms_eval"]``.

    Raises:
        EvaluationError: no tasks, a bad limit or batch size, or see `format_model_args`.
    """
    if not tasks:
        raise EvaluationError("no lmms-eval task given")
    if limit is not None and limit < 1:
        raise EvaluationError(f"limit must be >= 1, got {limit}")
    if batch_size < 1:
        raise EvaluationError(f"batch_size must be >= 1, got {batch_size}")
    argv = list(launcher) if launcher else [sys.executable, "-m", MODULE]
    argv += [
        "--model", model,
        "--model_args", format_model_args(checkpoint, model_args),
        "--tasks", ",".join(tasks),
        "--batch_size", str(batch_size),
        "--output_path", str(output_path),
    ]
    if limit is not None:
        argv += ["--limit", str(limit)]
    if log_samples:
        argv.append("--log_samples")
    if include_path is not None:
        argv += ["--include_path", str(include_path)]
    return argv
