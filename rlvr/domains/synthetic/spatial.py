"""Spatial relations: is one object left of, right of, above or below another; the synthetic
counterpart of the reference's sat (multiple choice)."""

from __future__ import annotations

import random

from rlvr.domains.synthetic.answers import Choice, SyntheticRecord, multiple_choice
from rlvr.domains.synthetic.scene import (
    GRID,
    cells,
    describe,
    distinct_colours,
    draw_scene,
    place,
)

RELATIONS = ("left", "right", "above", "below")
DISTRACTORS = (0, 1)


def related_cells(rng: random.Random, relation: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two ``(column, row)`` cells, the first ``relation`` of the second: in the same row for
    left/right, the same column for above/below, so the relation is unambiguous."""
    near, far = sorted(rng.sample(range(GRID), 2))
    line = rng.randrange(GRID)
    if relation in ("left", "right"):
        first, second = (near, line), (far, line)
    else:
        first, second = (line, near), (line, far)
    return (first, second) if relation in ("left", "above") else (second, first)


def spatial(rng: random.Random) -> SyntheticRecord:
    """Where the first named object is relative to the second; options in `RELATIONS` order."""
    relation = rng.choice(RELATIONS)
    target_cell, reference_cell = related_cells(rng, relation)
    extra = rng.randint(*DISTRACTORS)
    kinds = distinct_colours(rng, 2 + extra)
    free = [cell for cell in cells() if cell not in (target_cell, reference_cell)]
    spots = [target_cell, reference_cell, *rng.sample(free, extra)]
    objects = [place(rng, c, s, *spot) for (c, s), spot in zip(kinds, spots, strict=True)]
    target, reference = objects[0], objects[1]
    question = f"Where is the {target.name} relative to the {reference.name}?"
    choice = Choice.of(RELATIONS, relation)
    return multiple_choice(draw_scene(objects), question, choice, describe([target, reference]))
