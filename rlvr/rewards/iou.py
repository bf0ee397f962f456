"""Box rewards: ``iou_grounding`` (one box) and ``iou_detection`` (a list of boxes)."""

from __future__ import annotations

from collections.abc import Sequence

from rlvr.rewards.boxes import Box, box_iou
from rlvr.rewards.parsing import (
    Detection,
    answer_content,
    parse_box,
    parse_detections,
    solution_answer,
)
from rlvr.rewards.reward_fn import score_each

MATCH_IOU = 0.5


def iou_grounding(
    completions: Sequence[object], solution: Sequence[object] | None = None, **columns: object
) -> list[float]:
    """IoU in [0, 1] of the box in ``<answer>`` with the solution's box (0-1000 coordinates).

    The first ``[x1, y1, x2, y2]`` of each side is read (`parse_box`); a missing, out-of-range
    or degenerate box on either side scores 0.0.

    Raises:
        TypeError, ValueError: the batch structure is wrong (see `score_each`).
    """
    return score_each("iou_grounding", _score_grounding, completions, solution)


def iou_detection(
    completions: Sequence[object], solution: Sequence[object] | None = None, **columns: object
) -> list[float]:
    """Detection reward of the list in ``<answer>`` against the solution's list, in [0, 1].

    See `detection_score`. The solution is ``No Objects`` (any case) or ``[]`` when the image
    has no object; answering the same scores 1.0, answering objects (or vice versa) 0.0. A
    solution with an invalid box scores 0.0 (the record is bad). A prediction list cut off
    mid-way keeps its complete entries (`parse_detections`).

    Raises:
        TypeError, ValueError: the batch structure is wrong (see `score_each`).
    """
    return score_each("iou_detection", _score_detection, completions, solution)


def detection_score(predictions: Sequence[Detection], truth: Sequence[Box]) -> float:
    """Greedy matching score of predicted detections against ground-truth boxes, in [0, 1].

    Predictions are taken in descending confidence (ties in their written order); each is
    matched to the still unmatched ground-truth box of highest IoU, and the match counts if that
    IoU is > 0.5. Score = sum of matched IoUs / max(#truth, #predictions), so extra, missing and
    invalid predictions (box None) all cost. Both empty: 1.0; exactly one empty: 0.0.
    """
    if not predictions and not truth:
        return 1.0
    if not predictions or not truth:
        return 0.0
    unmatched = list(truth)
    matched_iou = 0.0
    for prediction in sorted(predictions, key=lambda d: -d.confidence):
        if prediction.box is None or not unmatched:
            continue
        ious = [box_iou(prediction.box, box) for box in unmatched]
        best = max(range(len(ious)), key=ious.__getitem__)
        if ious[best] > MATCH_IOU:
            matched_iou += ious[best]
            del unmatched[best]
    return matched_iou / max(len(truth), len(predictions))


def _score_grounding(text: str, solution: object) -> float:
    predicted = parse_box(answer_content(text))
    truth = parse_box(solution_answer(solution))
    if predicted is None or truth is None:
        return 0.0
    return box_iou(predicted, truth)


def _score_detection(text: str, solution: object) -> float:
    truth = parse_detections(solution_answer(solution))
    predictions = parse_detections(answer_content(text))
    if truth is None or predictions is None or any(d.box is None for d in truth):
        return 0.0
    return detection_score(predictions, [d.box for d in truth])
