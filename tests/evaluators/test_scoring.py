"""Scoring shares the training rewards' parsers and is not gated on the format."""

import math

import pytest

from evaluators import EvaluationError, standard_error, task_scorer
from rlvr import rewards
from rlvr.domains import DomainSpec, default_registry

REGISTRY = default_registry()


@pytest.mark.parametrize(
    ("domain", "metric", "binary"),
    [("lisa", "mean_iou", False), ("sat", "accuracy", True), ("scienceqa", "accuracy", True),
     ("coco", "detection_score", False), ("geoqav", "accuracy", True)],
)
def test_reference_domains_score_their_task_reward(domain, metric, binary):
    scorer = task_scorer(REGISTRY.get(domain))
    assert (scorer.metric, scorer.binary) == (metric, binary)
    assert sum(w for _, w in scorer.weights) == pytest.approx(1.0)
    assert all(name != "format" for name, _ in scorer.weights)


COMPLETIONS = [
    "<think>x</think><answer>B</answer>",
    "<answer>(b)</answer>",  # right, but not in the format: still counts
    "I think B",  # no <answer> block: 0, as in training
    "<think>A or B</think>\n<answer>\nB) because\n</answer>",
    "<answer>C</answer>",
]


def test_accuracy_is_the_training_reward_without_the_gate():
    solutions = ["<answer>B</answer>"] * len(COMPLETIONS)
    scorer = task_scorer(REGISTRY.get("sat"))
    scores = scorer.score(COMPLETIONS, solutions)
    assert scores == rewards.accuracy_mc(COMPLETIONS, solution=solutions) == [1, 1, 0, 1, 0]
    gated = REGISTRY.get("sat").reward_fn()(COMPLETIONS, solution=solutions)
    assert gated[1] == 0.0  # the training reward gates; the test score does not
    assert [scorer.parsed_answer(c) for c in COMPLETIONS] == ["B", "B", None, "B", "C"]


def test_iou_and_detection_use_the_training_parsers():
    completion = "<answer>[0, 0, 100, 50]</answer>"
    lisa = task_scorer(REGISTRY.get("lisa"))
    assert lisa.score([completion], ["<answer>[0, 0, 50, 50]</answer>"]) == [0.5]
    assert lisa.parsed_answer(completion) == [0.0, 0.0, 100.0, 50.0]
    coco = task_scorer(REGISTRY.get("coco"))
    detections = "<answer>[{'Position': [0, 0, 100, 100], 'Confidence': 0.9}]</answer>"
    truth = ["<answer>[{'Position': [0, 0, 100, 100], 'Confidence': 1}]</answer>"]
    assert coco.score([detections], truth) == rewards.iou_detection([detections], solution=truth)
    assert coco.parsed_answer(detections) == [
        {"position": [0.0, 0.0, 100.0, 100.0], "confidence": 0.9}]


def spec(**rewards_weights):
    return DomainSpec(name="d", source={"kind": "hub", "id": "a/b"}, answer_type="box",
                      rewards=rewards_weights)


def test_mixed_task_rewards_are_a_weighted_mean_and_format_only_is_an_error():
    scorer = task_scorer(spec(format=1.0, iou_grounding=3.0, accuracy_mc=1.0))
    assert scorer.metric == "task_reward" and not scorer.binary
    assert dict(scorer.weights) == {"iou_grounding": 0.75, "accuracy_mc": 0.25}
    with pytest.raises(EvaluationError, match="no task reward"):
        task_scorer(spec(format=1.0, iou_grounding=0.0))


def test_standard_errors_by_hand():
    assert standard_error([1, 0, 1, 1], binary=True) == pytest.approx(math.sqrt(0.75 * 0.25 / 4))
    assert standard_error([1, 1], binary=True) == 0.0
    # values 0.2, 0.4, 0.9: mean 0.5, sample variance (0.09 + 0.01 + 0.16) / 2 = 0.13
    assert standard_error([0.2, 0.4, 0.9], binary=False) == pytest.approx(math.sqrt(0.13 / 3))
    assert standard_error([0.3], binary=False) is None
    with pytest.raises(ValueError):
        standard_error([], binary=True)
