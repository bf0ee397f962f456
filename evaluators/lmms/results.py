"""Reading the results file an lmms-eval run writes (never its logs).

Layout, from ``lmms_eval/loggers/evaluation_tracker.py`` (``save_results_aggregated``) and
``lmms_eval/evaluator.py`` (``evaluate``): ``<output_path>/<sanitized model>/<date>_results.json``
holding ``results.<task>`` with ``"<metric>,<filter>"`` and ``"<metric>_stderr,<filter>"``
(a number or ``"N/A"``) and ``n-samples.<task>`` = ``{"original": N, "effective": N}``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluators.lmms.errors import LmmsEvalRunError, LmmsResultsError
from evaluators.lmms.registry import FILTER, LMMS_BENCHMARKS, LmmsBenchmark
from evaluators.result import OUT_OF_DOMAIN, BenchmarkScore

RESULTS_GLOB = "*_results.json"


def find_results_file(output_path: str | Path, *, newer_than: float | None = None) -> Path:
    """The newest ``*_results.json`` under ``output_path`` (any depth).

    Args:
        newer_than: only files modified at or after this time (``time.time()``) count.

    Raises:
        LmmsEvalRunError: none there (lmms-eval catches its own errors, exits 0 and writes
            nothing: a missing file means the run failed).
    """
    root = Path(output_path)
    found = [p for p in root.rglob(RESULTS_GLOB) if p.is_file()] if root.is_dir() else []
    if newer_than is not None:
        found = [p for p in found if p.stat().st_mtime >= newer_than]
    if not found:
        raise LmmsEvalRunError(f"no lmms-eval results file ({RESULTS_GLOB}) under {root}")
    return max(found, key=lambda p: p.stat().st_mtime)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _score(path: Path, bench: LmmsBenchmark, task_results: dict, n: int) -> BenchmarkScore:
    for metric in bench.metrics:
        key = f"{metric},{FILTER}"
        if key in task_results:
            break
    else:
        raise LmmsResultsError(
            f"{path}: task {bench.task!r} has none of the metrics "
            f"{', '.join(f'{m},{FILTER}' for m in bench.metrics)}; it has "
            f"{', '.join(sorted(k for k in task_results if ',' in k)) or '(none)'}"
        )
    value = _number(task_results[key])
    if value is None:
        raise LmmsResultsError(
            f"{path}: task {bench.task!r} reported {key} = {task_results[key]!r}, not a score "
            "(MathVista's aggregation reports null when its accuracy is 0)"
        )
    stderr = _number(task_results.get(f"{metric}_stderr,{FILTER}"))
    if bench.percent_if_above_one and value > 1:
        value, stderr = value / 100, None if stderr is None else stderr / 100
    return BenchmarkScore(
        metric=metric, score=value, n=n, stderr=stderr, kind=OUT_OF_DOMAIN
    )


def parse_results(
    path: str | Path, benchmarks: Sequence[LmmsBenchmark | str]
) -> dict[str, BenchmarkScore]:
    """Benchmark name -> its out-of-domain score, read from an lmms-eval results file.

    ``n`` is ``n-samples.<task>.effective``; ``stderr`` the ``_stderr`` value when it is a
    number (else None).

    Raises:
        LmmsResultsError: unreadable file; a task, its metric or its sample count missing; a
            score that is not a number.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LmmsResultsError(f"{path}: not a readable lmms-eval results file ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise LmmsResultsError(f"{path}: no `results` object")
    samples = data.get("n-samples") if isinstance(data.get("n-samples"), dict) else {}
    scores = {}
    for item in benchmarks:
        bench = LMMS_BENCHMARKS[item] if isinstance(item, str) else item
        task_results = data["results"].get(bench.task)
        if not isinstance(task_results, dict):
            raise LmmsResultsError(
                f"{path}: task {bench.task!r} ({bench.name}) missing from the results; "
                f"tasks there: {', '.join(sorted(data['results'])) or '(none)'}"
            )
        effective = (samples.get(bench.task) or {}).get("effective")
        if _number(effective) is None or effective < 1 or effective != int(effective):
            raise LmmsResultsError(
                f"{path}: no usable n-samples.{bench.task}.effective (got {effective!r})"
            )
        scores[bench.name] = _score(path, bench, task_results, int(effective))
    return scores
