"""Out of domain: counting objects of a colour (and shape) on one side of another object,
"how many red squares are left of the blue circle?" -- detection and spatial skills at once."""

from __future__ import annotations

import random

from rlvr.domains.synthetic.answers import Choice, SyntheticRecord, multiple_choice, plural
from rlvr.domains.synthetic.scene import (
    COLOURS,
    SHAPES,
    cells,
    describe,
    draw_scene,
    place,
    reading_order,
)

COUNTS = (0, 1, 2, 3)
SIDES = {"left": "left of", "right": "right of", "above": "above", "below": "below"}
EXTRA_TARGETS = (0, 2)
DISTRACTORS = (0, 2)


def _on_side(cell: tuple[int, int], anchor: tuple[int, int], side: str) -> bool:
    (column, row), (anchor_column, anchor_row) = cell, anchor
    return {
        "left": column < anchor_column,
        "right": column > anchor_column,
        "above": row < anchor_row,
        "below": row > anchor_row,
    }[side]


def _in_line(cell: tuple[int, int], anchor: tuple[int, int], side: str) -> bool:
    """Whether ``cell`` shares the anchor's column (left/right) or row (above/below)."""
    axis = 0 if side in ("left", "right") else 1
    return cell[axis] == anchor[axis]


def count_relative(rng: random.Random) -> SyntheticRecord:
    """How many objects of a colour (and maybe a shape) are on one side of a unique anchor.

    The count is uniform over `COUNTS`. Matching objects off that side are never in the
    anchor's column (left/right) or row (above/below), so the answer is plain to see.
    """
    side = rng.choice(tuple(SIDES))
    count = rng.choice(COUNTS)
    # An anchor with at least one grid line (4 cells, room for 3 targets) on the asked side.
    anchors = [cell for cell in cells() if any(_on_side(c, cell, side) for c in cells())]
    anchor_cell = rng.choice(anchors)
    colour, anchor_colour = rng.sample(tuple(COLOURS), 2)
    shape = rng.choice(SHAPES) if rng.random() < 0.5 else None
    anchor_shape = rng.choice(SHAPES)

    def target_kind() -> tuple[str, str]:
        return colour, shape if shape is not None else rng.choice(SHAPES)

    def distractor_kind() -> tuple[str, str]:
        while True:  # not a target, not a second anchor
            kind = (rng.choice(tuple(COLOURS)), rng.choice(SHAPES))
            is_target = kind[0] == colour and shape in (None, kind[1])
            if not is_target and kind != (anchor_colour, anchor_shape):
                return kind

    free = [cell for cell in cells() if cell != anchor_cell]
    side_cells = [cell for cell in free if _on_side(cell, anchor_cell, side)]
    away_cells = [
        cell for cell in free if cell not in side_cells and not _in_line(cell, anchor_cell, side)
    ]
    targets = rng.sample(side_cells, count)
    extra = rng.sample(away_cells, min(len(away_cells), rng.randint(*EXTRA_TARGETS)))
    used = {anchor_cell, *targets, *extra}
    others = rng.sample([cell for cell in free if cell not in used], rng.randint(*DISTRACTORS))
    anchor = place(rng, anchor_colour, anchor_shape, *anchor_cell)
    matching = [place(rng, *target_kind(), *cell) for cell in (*targets, *extra)]
    objects = [anchor, *matching, *(place(rng, *distractor_kind(), *cell) for cell in others)]
    what = f"{colour} {plural(shape)}" if shape is not None else f"{colour} objects"
    question = f"How many {what} are {SIDES[side]} the {anchor_colour} {anchor_shape}?"
    choice = Choice.of(COUNTS, count)
    thinking = describe([anchor, *reading_order(matching)])
    return multiple_choice(draw_scene(objects), question, choice, thinking)
