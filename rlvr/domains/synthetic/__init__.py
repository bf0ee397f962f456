"""Procedurally generated, verifiable vision-language tasks: small pictures of coloured shapes,
segments, angles and bar charts, drawn from a seed (nothing is downloaded).

One training task per reference reward type (``detect``: a detection list, ``ground``: one box,
``geometry``, ``spatial`` and ``chart``: multiple choice) and two held-out out-of-domain tasks
that need skills of several (``count_relative``, ``chart_comparison``). A domain reads them
through a source ``{kind: synthetic, task: NAME, n: RECORDS, seed: SEED}``; the built-in
``synth_*`` domains are in `rlvr.domains.synthetic.domains` (not imported here: the domain
specs import the sources, which import this package).
"""

from rlvr.domains.synthetic.answers import SyntheticRecord
from rlvr.domains.synthetic.scene import IMAGE_SIZE
from rlvr.domains.synthetic.tasks import (
    GENERATOR_VERSION,
    SyntheticTask,
    UnknownSyntheticTaskError,
    get_task,
    make_record,
    task_names,
)

__all__ = [
    "GENERATOR_VERSION",
    "IMAGE_SIZE",
    "SyntheticRecord",
    "SyntheticTask",
    "UnknownSyntheticTaskError",
    "get_task",
    "make_record",
    "task_names",
]
