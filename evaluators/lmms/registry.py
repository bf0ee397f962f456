"""The reference's out-of-domain benchmarks and the lmms-eval task and metric behind each.

Names, tasks and metrics are read from lmms-eval's task YAMLs (``lmms_eval/tasks/chartqa/
chartqa.yaml``, ``infovqa/infovqa_val.yaml``, ``mathvista/mathvista_testmini*.yaml``,
``mmmu/mmmu_val.yaml``). A result key is ``"<metric>,<filter>"``; these tasks use filter
``none``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evaluators.errors import UnknownBenchmarkError

FILTER = "none"


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
    size: int
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


def is_lmms_benchmark(name: str) -> bool:
    """Whether ``name`` is one of `LMMS_BENCHMARKS`."""
    return name in LMMS_BENCHMARKS


def resolve_lmms_benchmarks(names: Iterable[str]) -> tuple[LmmsBenchmark, ...]:
    """The benchmarks named, in order.

    Raises:
        UnknownBenchmarkError: no names, a repeated name, or a name not in `LMMS_BENCHMARKS`.
    """
    names = list(names)
    known = ", ".join(LMMS_BENCHMARKS)
    if not names:
        raise UnknownBenchmarkError(f"no out-of-domain benchmark given; known: {known}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UnknownBenchmarkError(f"benchmark(s) given twice: {', '.join(repeated)}")
    unknown = [n for n in names if n not in LMMS_BENCHMARKS]
    if unknown:
        raise UnknownBenchmarkError(
            f"unknown out-of-domain benchmark(s) {', '.join(unknown)}; known: {known}"
        )
    return tuple(LMMS_BENCHMARKS[n] for n in names)
