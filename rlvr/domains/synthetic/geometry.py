"""Plane figures: which coloured segment is the longest (or shortest), and what kind of angle is
drawn; the synthetic counterpart of the reference's geoqav (multiple choice)."""

from __future__ import annotations

import math
import random

from rlvr.domains.synthetic.answers import Choice, SyntheticRecord, multiple_choice
from rlvr.domains.synthetic.scene import COLOURS, IMAGE_SIZE, INK, canvas

# Segment lengths in px, one from each range: the ranges are far apart, so the order is visible.
SEGMENT_LENGTHS = ((16, 26), (38, 48), (64, 84))
MARGIN = 6
LINE_WIDTH = 3
ANGLE_KINDS = ("acute", "right", "obtuse")
ANGLE_DEGREES = {"acute": (25, 65), "right": (90, 90), "obtuse": (115, 155)}
RAY_LENGTH = (32, 40)
# What the reference reasoning writes: segment lengths in tens of px, angles to 10 degrees.
LENGTH_UNIT = 10
ANGLE_STEP = 10
VERTEX_RANGE = (44, 68)


def _segment(rng: random.Random, length: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """Endpoints of a segment of about ``length`` px at a random angle, inside the margins."""
    theta = rng.uniform(0.0, math.pi)
    dx, dy = length * math.cos(theta), length * math.sin(theta)
    low, high = MARGIN, IMAGE_SIZE - 1 - MARGIN
    x = rng.uniform(max(low, low - dx), min(high, high - dx))
    y = rng.uniform(max(low, low - dy), min(high, high - dy))
    return (round(x), round(y)), (round(x + dx), round(y + dy))


def segments(rng: random.Random) -> SyntheticRecord:
    """Three segments of distinct colours and clearly different lengths: the longest or the
    shortest; the options are the four colours, always in the same order."""
    colours = rng.sample(tuple(COLOURS), len(SEGMENT_LENGTHS))
    image, draw = canvas()
    lengths = {}
    for colour, (low, high) in zip(colours, SEGMENT_LENGTHS, strict=True):
        length = rng.uniform(low, high)
        start, end = _segment(rng, length)
        draw.line([start, end], fill=COLOURS[colour], width=LINE_WIDTH)
        lengths[colour] = round(length / LENGTH_UNIT)
    extreme = rng.choice(("longest", "shortest"))
    answer = colours[-1] if extreme == "longest" else colours[0]
    choice = Choice.of(tuple(COLOURS), answer)
    # Lengths in tens of pixels, in the order the colours were drawn (shortest first is a tell).
    thinking = "lengths " + ", ".join(f"{c} {lengths[c]}" for c in sorted(lengths))
    return multiple_choice(image, f"Which segment is the {extreme}?", choice, thinking)


def angle(rng: random.Random) -> SyntheticRecord:
    """Two rays from a vertex: is the angle acute, right or obtuse (options in that order)."""
    kind = rng.choice(ANGLE_KINDS)
    degrees = rng.uniform(*ANGLE_DEGREES[kind])
    first = rng.uniform(0.0, 360.0)
    second = first + degrees * rng.choice((-1, 1))
    vertex = (rng.randint(*VERTEX_RANGE), rng.randint(*VERTEX_RANGE))
    image, draw = canvas()
    for direction in (first, second):
        length = rng.uniform(*RAY_LENGTH)
        end = (
            round(vertex[0] + length * math.cos(math.radians(direction))),
            round(vertex[1] - length * math.sin(math.radians(direction))),
        )
        draw.line([vertex, end], fill=INK, width=LINE_WIDTH)
    choice = Choice.of(ANGLE_KINDS, kind)
    thinking = f"the angle is {ANGLE_STEP * round(degrees / ANGLE_STEP)} degrees"
    return multiple_choice(image, "What kind of angle is drawn?", choice, thinking)


def geometry(rng: random.Random) -> SyntheticRecord:
    """A segment question or an angle question, half and half."""
    return segments(rng) if rng.random() < 0.5 else angle(rng)
