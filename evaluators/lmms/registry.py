"""The reference's out-of-domain benchmarks and the lmms-eval task and metric behind each, and
user tasks (``TASK:METRIC``, e.g. a local task YAML passed with an include path).

Names, tasks and metrics are read from lmms-eval's task YAMLs (``lmms_eval/tasks/chartqa/
chartqa.yaml``, ``infovqa/infovqa_val.yaml``, ``mathvista/mathvista_testmini*.yaml``,
``mmmu/mmmu_val.yaml``). A result key is ``"<metric>,<filter>"``; these tasks use filter
``none``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from evaluators.errors import UnknownBenchmarkError

FILTER = "none"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class LmmsBenchmark:
    """One out-of-domain benchmark run through lmms-eval.

    ``metrics`` lists the metric names to look for, first found wins (MathVista's was renamed
    between lmms-eval versions). ``percent_if_above_one``: some lmms-eval versions report this
    metric in percent (0-100); a value above 1 is then divided by 100.
    """

    name: str
    task: str
    metrics: tuple[str, ...]
    size: int | None = None  # full test-set size, where known
    percent_if_above_one: bool = False

    @property
    def metric(self) -> str:
        """The metric name recorded in `BenchmarkScore.metric`."""
        return self.metrics[0]


LMMS_BENCHMARKS: dict[str, LmmsBenchmark] = {
    b.name: b
    for b in (
        LmmsBenchmark("chartqa", "chartqa", ("relaxed_overall",), 2500),
        LmmsBenchmark("infovqa", "infovqa_val", ("anls",), 2801),
        LmmsBenchmark(
            "mathvista",
            "mathvista_testmini",
            ("gpt_eval_score", "llm_as_judge_eval"),
            1000,
            percent_if_above_one=True,
        ),
        LmmsBenchmark("mmmu", "mmmu_val", ("mmmu_acc",), 900),
    )
}


def parse_lmms_task(text: str) -> LmmsBenchmark:
    """A user task from ``TASK:METRIC`` (the benchmark is named ``TASK``; its score is
    ``results.TASK["METRIC,none"]``).

    Raises:
        UnknownBenchmarkError: not ``TASK:METRIC``, or a name with other characters than
            letters, digits, ``_``, ``.``, ``-``.
    """
    task, sep, metric = text.strip().partition(":")
    if not sep or not _NAME.match(task) or not _NAME.match(metric):
        raise UnknownBenchmarkError(
            f"lmms-eval task {text!r}: expected TASK:METRIC, e.g. mixopt_synth_chart:accuracy"
        )
    return LmmsBenchmark(task, task, (metric,))


def is_lmms_benchmark(name: str, extra: Iterable[LmmsBenchmark] = ()) -> bool:
    """Whether ``name`` is one of `LMMS_BENCHMARKS` or of the user tasks ``extra``."""
    return name in LMMS_BENCHMARKS or any(b.name == name for b in extra)


def resolve_lmms_benchmarks(
    names: Iterable[str], extra: Iterable[LmmsBenchmark] = ()
) -> tuple[LmmsBenchmark, ...]:
    """The benchmarks named, in order, from `LMMS_BENCHMARKS` and the user tasks ``extra``
    (which replace a reference benchmark of the same name).

    Raises:
        UnknownBenchmarkError: no names, a repeated name, or an unknown name.
    """
    names = list(names)
    available = {**LMMS_BENCHMARKS, **{b.name: b for b in extra}}
    known = ", ".join(available)
    if not names:
        raise UnknownBenchmarkError(f"no out-of-domain benchmark given; known: {known}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UnknownBenchmarkError(f"benchmark(s) given twice: {', '.join(repeated)}")
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UnknownBenchmarkError(
            f"unknown out-of-domain benchmark(s) {', '.join(unknown)}; known: {known}"
        )
    return tuple(available[n] for n in names)
