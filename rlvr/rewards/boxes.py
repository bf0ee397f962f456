"""Axis-aligned boxes in the reference's 0-1000 image coordinates, and their IoU."""

from __future__ import annotations

import math
from typing import NamedTuple

COORDINATE_MAX = 1000.0


class Box(NamedTuple):
    """A valid box: ``0 <= x1 < x2 <= 1000`` and ``0 <= y1 < y2 <= 1000`` (finite floats)."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def area(self) -> float:
        return (self.x2 - self.x1) * (self.y2 - self.y1)


def make_box(values: object) -> Box | None:
    """A `Box` from a sequence of 4 numbers, or None if that is not a valid box.

    Invalid: not a list/tuple of exactly 4 real numbers (bools excluded), a non-finite number,
    a coordinate outside [0, 1000], or a degenerate box (``x1 >= x2`` or ``y1 >= y2``).
    Never raises.
    """
    if not isinstance(values, list | tuple) or len(values) != 4:
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in values)
    except OverflowError:  # an int too large for a float
        return None
    coords = (x1, y1, x2, y2)
    if not all(math.isfinite(c) and 0.0 <= c <= COORDINATE_MAX for c in coords):
        return None
    if x1 >= x2 or y1 >= y2:
        return None
    return Box(x1, y1, x2, y2)


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two valid boxes, in [0, 1].

    Continuous coordinates (area = width * height, no "+1 pixel" convention of some reference
    code): identical boxes score exactly 1, boxes that only touch score 0.
    """
    width = min(a.x2, b.x2) - max(a.x1, b.x1)
    height = min(a.y2, b.y2) - max(a.y1, b.y1)
    if width <= 0.0 or height <= 0.0:
        return 0.0
    intersection = width * height
    return min(1.0, intersection / (a.area + b.area - intersection))
