import pytest

from rlvr.rewards import detection_score, iou_detection, iou_grounding
from rlvr.rewards.boxes import Box
from rlvr.rewards.parsing import Detection


def wrap(answer: str) -> str:
    return f"<think>t</think><answer>{answer}</answer>"


@pytest.mark.parametrize(
    ("completion", "solution", "reward"),
    [
        (wrap("[0, 0, 10, 10]"), "<answer>[0, 0, 10, 10]</answer>", 1.0),
        (wrap("[5, 0, 15, 10]"), "<answer>[0, 0, 10, 10]</answer>", 1 / 3),
        (wrap("[50, 50, 60, 60]"), "<answer>[0, 0, 10, 10]</answer>", 0.0),
        (wrap("\n[5.0, 0.0,\n 15.0, 10.0]\n"), "[0, 0, 10, 10]", 1 / 3),  # multi-line
        (wrap("[0, 0, 10, 1001]"), "<answer>[0, 0, 10, 10]</answer>", 0.0),
        (wrap("[0, 0, 0, 10]"), "<answer>[0, 0, 10, 10]</answer>", 0.0),
        (wrap("[0, 0, 10, 10]"), "<answer>[0, 0, 10, 2000]</answer>", 0.0),
        (wrap(""), "<answer>[0, 0, 10, 10]</answer>", 0.0),
        ("[0, 0, 10, 10]", "<answer>[0, 0, 10, 10]</answer>", 0.0),  # no answer block
        (wrap("[" * 100_000), "<answer>[0, 0, 10, 10]</answer>", 0.0),
        (None, "[0, 0, 10, 10]", 0.0),
    ],
)
def test_iou_grounding(completion, solution, reward):
    assert iou_grounding([completion], solution=[solution]) == [pytest.approx(reward)]


def det(box, confidence):
    return Detection(Box(*box), confidence)


def test_greedy_matching_on_a_hand_computed_example():
    truth = [Box(0, 0, 10, 10), Box(20, 0, 30, 10)]
    predictions = [
        det((0, 0, 10, 8), 0.5),  # IoU 0.8 with truth 0
        det((1, 0, 11, 10), 0.9),  # IoU 9/11 with truth 0; highest confidence, goes first
        det((20, 0, 26, 10), 0.7),  # IoU 0.6 with truth 1
        det((100, 100, 200, 200), 0.8),  # matches nothing
    ]
    # 0.9 takes truth 0 (9/11); 0.8 matches nothing; 0.7 takes truth 1 (0.6); 0.5 finds only
    # matched truths left -> unmatched. 4 predictions, 2 truths: divide by 4.
    assert detection_score(predictions, truth) == pytest.approx((9 / 11 + 0.6) / 4)


def test_a_match_needs_iou_above_one_half():
    truth = [Box(0, 0, 10, 10)]
    assert detection_score([det((5, 0, 15, 10), 1.0)], truth) == 0.0  # IoU 1/3
    assert detection_score([det((0, 0, 10, 5), 1.0)], truth) == 0.0  # IoU exactly 0.5
    assert detection_score([det((0, 0, 10, 6), 1.0)], truth) == pytest.approx(0.6)


def test_invalid_predictions_count_as_unmatched():
    truth = [Box(0, 0, 10, 10)]
    assert detection_score([det((0, 0, 10, 10), 1.0), Detection(None, 0.5)], truth) == 0.5


D1 = "{'Position': [0, 0, 10, 10], 'Confidence': 1}"
D2 = "{'Position': [20, 0, 30, 10], 'Confidence': 1}"
TRUTH = f"<answer>[{D1}, {D2}]</answer>"


@pytest.mark.parametrize(
    ("completion", "solution", "reward"),
    [
        (wrap(f"[{D1}, {D2}]"), TRUTH, 1.0),
        (wrap(f"[{D2.replace(chr(39), chr(34))}, {D1}]"), TRUTH, 1.0),  # double quotes, order
        (wrap(f"[{D1}]"), TRUTH, 0.5),
        (
            wrap(f"[{D1}, {D2}, {{'Position': [500, 500, 600, 600], 'Confidence': 0.1}}]"),
            TRUTH,
            2 / 3,
        ),
        (wrap(f"[{D1}, {D2}, {{'Position': [500, 50"), TRUTH, 1.0),  # truncated: repaired
        (wrap(f"\n[{D1},\n {D2}]\n"), TRUTH, 1.0),  # multi-line
        (wrap("No Objects"), "<answer>No Objects</answer>", 1.0),
        (wrap("no objects"), "<answer>No Objects</answer>", 1.0),
        (wrap("[]"), "<answer>No Objects</answer>", 1.0),
        (wrap("No Objects"), "<answer>[]</answer>", 1.0),
        (wrap(f"[{D1}]"), "<answer>No Objects</answer>", 0.0),
        (wrap("No Objects"), TRUTH, 0.0),
        (
            wrap(f"[{D1}]"),
            "<answer>[{'Position': [0, 0, 10, 2000], 'Confidence': 1}]</answer>",
            0.0,
        ),
        (wrap("cats"), TRUTH, 0.0),
        (wrap(""), TRUTH, 0.0),
        (f"[{D1}, {D2}]", TRUTH, 0.0),  # no answer block
        (wrap("[" * 100_000), TRUTH, 0.0),
        (wrap(f"[{D1}, {D2}]"), None, 0.0),
    ],
)
def test_iou_detection(completion, solution, reward):
    assert iou_detection([completion], solution=[solution]) == [pytest.approx(reward)]
