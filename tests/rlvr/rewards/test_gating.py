import pytest

from rlvr.rewards import RewardRegistry, UnknownRewardError, combine, gated_by_format
from rlvr.rewards.accuracy import accuracy_mc

GOOD_RIGHT = "<think>t</think><answer>B</answer>"
GOOD_WRONG = "<think>t</think><answer>C</answer>"
BAD_RIGHT = "<answer>B</answer>"
BATCH = [GOOD_RIGHT, GOOD_WRONG, BAD_RIGHT]
SOLUTION = ["B", "B", "B"]


def test_reference_weights_with_gating():
    reward = combine({"accuracy_mc": 2.0, "format": 1.0})
    assert reward(BATCH, solution=SOLUTION) == [3.0, 1.0, 0.0]


def test_without_gating_accuracy_counts_without_format():
    reward = combine({"accuracy_mc": 2.0, "format": 1.0}, gate_on_format=False)
    assert reward(BATCH, solution=SOLUTION) == [3.0, 1.0, 2.0]


def test_gating_applies_even_when_format_has_no_weight():
    assert combine({"accuracy_mc": 1.0})(BATCH, solution=SOLUTION) == [1.0, 0.0, 0.0]


def test_gated_by_format_keeps_the_name():
    gated = gated_by_format(accuracy_mc)
    assert gated.__name__ == "accuracy_mc"
    assert gated(BATCH, solution=SOLUTION) == [1.0, 0.0, 0.0]


def test_combine_with_a_custom_registry():
    registry = RewardRegistry({"format": lambda completions, **_: [1.0] * len(completions)})
    registry.register("length", lambda completions, **_: [float(len(c)) for c in completions])
    assert combine({"length": 0.5}, registry=registry)(["ab", "abcd"]) == [1.0, 2.0]


@pytest.mark.parametrize(
    ("weights", "error", "match"),
    [
        ({}, ValueError, "at least one"),
        ({"accuracy_mc": -1.0}, ValueError, ">= 0"),
        ({"accuracy_mc": float("nan")}, ValueError, "finite"),
        ({"accuracy_mc": "2"}, ValueError, "not a number"),
        ({"accuracy_mc": 0.0, "format": 0}, ValueError, "all reward weights are zero"),
        ({"accuracy": 1.0}, UnknownRewardError, "known rewards: accuracy_math, accuracy_mc"),
    ],
)
def test_combine_errors(weights, error, match):
    with pytest.raises(error, match=match):
        combine(weights)
