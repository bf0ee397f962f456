"""The built-in synthetic domains: one per reference reward type, and two out-of-domain ones.

==================  ================  ==============================  ========================
domain              task              answer, reward                  like
==================  ================  ==============================  ========================
synth_detect        detect            box list, iou_detection         coco
synth_ground        ground            one box, iou_grounding          lisa
synth_geometry      geometry          option letter, accuracy_mc      geoqav
synth_spatial       spatial           option letter, accuracy_mc      sat
synth_chart         chart             option letter, accuracy_mc      scienceqa
synth_ood_count     count_relative    option letter, accuracy_mc      (out of domain)
synth_ood_chartcmp  chart_comparison  option letter, accuracy_mc      (out of domain)
==================  ================  ==============================  ========================

Every domain has ``TRAIN_SIZE`` training records (seed `TRAIN_SEED`) and ``TEST_SIZE`` test
records (seed `TEST_SEED`), rewards weighted as the reference's (task 2.0, format 1.0). The two
out-of-domain domains have ``evaluation: out_of_domain``: their test splits make the Out-Score;
they have a training split like every domain, which studies are meant to leave out.
"""

from __future__ import annotations

from rlvr.domains.reference import FORMAT_WEIGHT, MULTIPLE_CHOICE_TEMPLATE, TASK_WEIGHT
from rlvr.domains.sources import SyntheticSource
from rlvr.domains.spec import PROBLEM_PLACEHOLDER, DomainSpec, Evaluation

TRAIN_SIZE = 2000
TEST_SIZE = 200
TRAIN_SEED = 0
TEST_SEED = 1
TRAINING_DOMAINS = (
    "synth_detect",
    "synth_ground",
    "synth_geometry",
    "synth_spatial",
    "synth_chart",
)
OUT_OF_DOMAIN = ("synth_ood_count", "synth_ood_chartcmp")
# name, task, task reward, evaluation, description
_DOMAINS: tuple[tuple[str, str, str, Evaluation, str], ...] = (
    (
        "synth_detect",
        "detect",
        "iou_detection",
        "in_domain",
        "Synthetic detection: every shape of a colour/kind, list of boxes 0-1000",
    ),
    (
        "synth_ground",
        "ground",
        "iou_grounding",
        "in_domain",
        "Synthetic grounding: the box of one described shape, 0-1000",
    ),
    (
        "synth_geometry",
        "geometry",
        "accuracy_mc",
        "in_domain",
        "Synthetic geometry: longest/shortest segment, kind of angle; multiple choice",
    ),
    (
        "synth_spatial",
        "spatial",
        "accuracy_mc",
        "in_domain",
        "Synthetic spatial relations: left/right/above/below; multiple choice",
    ),
    (
        "synth_chart",
        "chart",
        "accuracy_mc",
        "in_domain",
        "Synthetic bar charts: tallest/shortest bar, value of a bar; multiple choice",
    ),
    (
        "synth_ood_count",
        "count_relative",
        "accuracy_mc",
        "out_of_domain",
        "Out-of-domain (held out): count shapes on one side of another; multiple choice",
    ),
    (
        "synth_ood_chartcmp",
        "chart_comparison",
        "accuracy_mc",
        "out_of_domain",
        "Out-of-domain (held out): compare bars found by position; multiple choice",
    ),
)


def _domain(
    name: str, task: str, reward: str, evaluation: Evaluation, description: str
) -> DomainSpec:
    multiple_choice = reward == "accuracy_mc"
    answer_type = {"accuracy_mc": "option_letter", "iou_grounding": "box"}.get(reward, "box_list")
    return DomainSpec(
        name=name,
        description=description,
        source=SyntheticSource(task=task, n=TRAIN_SIZE, seed=TRAIN_SEED),
        test_source=SyntheticSource(task=task, n=TEST_SIZE, seed=TEST_SEED),
        # Box problems carry their own output instructions, as coco's and lisa's do.
        prompt_template=MULTIPLE_CHOICE_TEMPLATE if multiple_choice else PROBLEM_PLACEHOLDER,
        answer_type=answer_type,
        rewards={"format": FORMAT_WEIGHT, reward: TASK_WEIGHT},
        evaluation=evaluation,
    )


def synthetic_domains() -> tuple[DomainSpec, ...]:
    """New specs of the seven synthetic domains (see the module docstring)."""
    return tuple(_domain(*row) for row in _DOMAINS)
