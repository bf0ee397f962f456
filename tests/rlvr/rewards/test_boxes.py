import pytest

from rlvr.rewards.boxes import Box, box_iou, make_box


@pytest.mark.parametrize(
    "values",
    [None, "1234", [1, 2, 3], [1, 2, 3, 4, 5], [True, 2, 3, 4], [1, 2, "3", 4], [10**400, 1, 2, 3]],
)
def test_make_box_refuses_non_boxes(values):
    assert make_box(values) is None


def test_make_box_accepts_tuples_and_ints():
    assert make_box((0, 0, 1000, 1000)) == Box(0.0, 0.0, 1000.0, 1000.0)


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),
        ((0, 0, 10, 10), (2, 2, 8, 8), 36 / 100),
    ],
)
def test_box_iou(a, b, iou):
    assert box_iou(Box(*a), Box(*b)) == pytest.approx(iou)
    assert box_iou(Box(*b), Box(*a)) == pytest.approx(iou)
