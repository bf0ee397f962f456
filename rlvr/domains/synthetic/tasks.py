"""The synthetic tasks by name, and the record ``index`` of a task's stream for a ``seed``.

Record ``i`` of ``(task, seed)`` is drawn from its own generator, seeded with the text
``"task/seed/i"`` (`random.Random` hashes text seeds with SHA-512: the same on every machine and
in every process), so records are made one at a time, in any order, and a split of ``n`` records
is the first ``n`` of an endless stream. Bump `GENERATOR_VERSION` whenever a change here or in a
task's module changes what a ``(task, seed, index)`` gives.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from rlvr.domains.synthetic.answers import SyntheticRecord
from rlvr.domains.synthetic.charts import chart, chart_comparison
from rlvr.domains.synthetic.counting import count_relative
from rlvr.domains.synthetic.geometry import geometry
from rlvr.domains.synthetic.objects import detect, ground
from rlvr.domains.synthetic.spatial import spatial

GENERATOR_VERSION = 1


@dataclass(frozen=True)
class SyntheticTask:
    """A task: its name, what it asks, what its answers are, and its record generator."""

    name: str
    description: str
    answer_type: str
    generate: Callable[[random.Random], SyntheticRecord]


class UnknownSyntheticTaskError(KeyError):
    """A task name that does not exist; the message lists the tasks."""

    def __str__(self) -> str:  # KeyError would print the message inside quotes
        return str(self.args[0])


_TASKS = {
    task.name: task
    for task in (
        SyntheticTask("detect", "every object of a colour and/or shape", "box_list", detect),
        SyntheticTask("ground", "the box of one described object", "box", ground),
        SyntheticTask("geometry", "longest segment, kind of angle", "option_letter", geometry),
        SyntheticTask("spatial", "left/right/above/below of an object", "option_letter", spatial),
        SyntheticTask("chart", "tallest bar, value of a bar", "option_letter", chart),
        SyntheticTask(
            "count_relative",
            "objects counted on one side of another",
            "option_letter",
            count_relative,
        ),
        SyntheticTask(
            "chart_comparison",
            "bars compared by position and height",
            "option_letter",
            chart_comparison,
        ),
    )
}


def task_names() -> tuple[str, ...]:
    """The names of the synthetic tasks, sorted."""
    return tuple(sorted(_TASKS))


def get_task(name: str) -> SyntheticTask:
    """The task called ``name``. Raises `UnknownSyntheticTaskError` listing the tasks."""
    try:
        return _TASKS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        raise UnknownSyntheticTaskError(
            f"unknown synthetic task {name!r}; tasks: {', '.join(task_names())}"
        ) from None


def record_rng(task: str, seed: int, index: int) -> random.Random:
    """The generator that draws record ``index`` of ``task`` for ``seed``."""
    return random.Random(f"{task}/{seed}/{index}")


def make_record(task: str, seed: int, index: int) -> SyntheticRecord:
    """Record ``index`` (>= 0) of ``task``'s stream for ``seed``: always the same record.

    Raises:
        UnknownSyntheticTaskError: no such task.
        ValueError: a negative index.
    """
    if index < 0:
        raise ValueError(f"record indices are >= 0, got {index}")
    return get_task(task).generate(record_rng(task, seed, index))
