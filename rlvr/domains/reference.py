"""The five domains of the reference (MoDoMoDo, arXiv 2505.24871), as `DomainSpec`s.

Hub ids are the reference's. Its test sets are separate hub datasets, each pushed as a single
dataset, hence their ``train`` split. SAT's ``-mini`` subset is the extra split ``mini``.
"""

from __future__ import annotations

from rlvr.domains.sources import HubSource
from rlvr.domains.spec import PROBLEM_PLACEHOLDER, DomainSpec

# The reference's prompt for multiple-choice problems (two spaces after the problem).
MULTIPLE_CHOICE_TEMPLATE = (
    "{problem}  Output the thinking process in <think> </think> and final answer (option) in "
    "<answer> </answer> tags."
)
# The reference's weights: the task reward counts twice the format reward.
FORMAT_WEIGHT = 1.0
TASK_WEIGHT = 2.0


def _hub(repo_id: str) -> HubSource:
    return HubSource(id=repo_id, split="train")


def reference_domains() -> tuple[DomainSpec, ...]:
    """New specs of ``coco``, ``lisa``, ``geoqav``, ``sat`` and ``scienceqa``."""
    return (
        DomainSpec(
            name="coco",
            description="ViRFT-COCO object detection: list of boxes with confidences, 0-1000",
            source=_hub("laolao77/ViRFT_COCO"),
            # Detection problems carry their own output instructions.
            prompt_template=PROBLEM_PLACEHOLDER,
            answer_type="box_list",
            rewards={"format": FORMAT_WEIGHT, "iou_detection": TASK_WEIGHT},
        ),
        DomainSpec(
            name="lisa",
            description="LISA reasoning grounding: one box, 0-1000",
            source=_hub("yiqingliang/lisa-problems-dataset"),
            test_source=_hub("yiqingliang/lisa-problems-dataset-test"),
            prompt_template=PROBLEM_PLACEHOLDER,
            answer_type="box",
            rewards={"format": FORMAT_WEIGHT, "iou_grounding": TASK_WEIGHT},
        ),
        DomainSpec(
            name="geoqav",
            description="GeoQA geometry, multiple choice",
            source=_hub("yiqingliang/geoqav-problems-dataset"),
            prompt_template=MULTIPLE_CHOICE_TEMPLATE,
            answer_type="option_letter",
            rewards={"format": FORMAT_WEIGHT, "accuracy_mc": TASK_WEIGHT},
        ),
        DomainSpec(
            name="sat",
            description="SAT spatial reasoning, multiple choice",
            source=_hub("yiqingliang/sat-problems-dataset"),
            test_source=_hub("yiqingliang/sat-problems-dataset-test"),
            extra_splits={"mini": _hub("yiqingliang/sat-problems-dataset-mini")},
            prompt_template=MULTIPLE_CHOICE_TEMPLATE,
            answer_type="option_letter",
            rewards={"format": FORMAT_WEIGHT, "accuracy_mc": TASK_WEIGHT},
        ),
        DomainSpec(
            name="scienceqa",
            description="ScienceQA (questions with an image), multiple choice",
            source=_hub("yiqingliang/scienceqa-problems-dataset"),
            test_source=_hub("yiqingliang/scienceqa-problems-dataset-test"),
            prompt_template=MULTIPLE_CHOICE_TEMPLATE,
            answer_type="option_letter",
            rewards={"format": FORMAT_WEIGHT, "accuracy_mc": TASK_WEIGHT},
        ),
    )
