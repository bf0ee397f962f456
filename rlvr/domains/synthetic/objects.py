"""Finding objects: detection (every object of a named colour and/or shape) and grounding (the
box of one described object); the synthetic counterparts of the reference's coco and lisa."""

from __future__ import annotations

import random

from rlvr.domains.synthetic.answers import (
    BOX_INSTRUCTIONS,
    SyntheticRecord,
    box_text,
    detections_text,
    plural,
    tagged,
)
from rlvr.domains.synthetic.scene import (
    COLOURS,
    SHAPES,
    SceneObject,
    cells,
    describe,
    distinct_colours,
    draw_scene,
    place,
    random_kind,
    reading_order,
)

DETECT_OBJECTS = (2, 5)
GROUND_OBJECTS = (2, 4)
# How often a detection query names something absent (answer: No Objects).
ABSENT_QUERY_RATE = 0.15


def random_scene(rng: random.Random, kinds: list[tuple[str, str]]) -> list[SceneObject]:
    """One object of each ``(colour, shape)`` of ``kinds``, in distinct random cells."""
    spots = rng.sample(cells(), len(kinds))
    pairs = zip(kinds, spots, strict=True)
    return [place(rng, colour, shape, *spot) for (colour, shape), spot in pairs]


def detect(rng: random.Random) -> SyntheticRecord:
    """Detect every object of a colour, a shape, or both; answer in reading order."""
    count = rng.randint(*DETECT_OBJECTS)
    objects = random_scene(rng, [random_kind(rng) for _ in range(count)])
    colours = {obj.colour for obj in objects}
    shapes = {obj.shape for obj in objects}
    absent_colours = sorted(set(COLOURS) - colours)
    absent_shapes = sorted(set(SHAPES) - shapes)
    colour: str | None
    shape: str | None
    if rng.random() < ABSENT_QUERY_RATE and (absent_colours or absent_shapes):
        by_colour = bool(absent_colours) and (not absent_shapes or rng.random() < 0.5)
        colour = rng.choice(absent_colours) if by_colour else None
        shape = None if by_colour else rng.choice(absent_shapes)
    else:
        target = rng.choice(objects)
        mode = rng.choice(("colour", "shape", "both"))
        colour = target.colour if mode != "shape" else None
        shape = target.shape if mode != "colour" else None
    matches = [
        obj
        for obj in reading_order(objects)
        if colour in (None, obj.colour) and shape in (None, obj.shape)
    ]
    if shape is None:
        what = f"{colour} objects"
    else:
        what = plural(shape) if colour is None else f"{colour} {plural(shape)}"
    problem = (
        f"Find all {what} in the image. Give each box as [x1, y1, x2, y2] with coordinates from "
        f"0 to 1000. {BOX_INSTRUCTIONS} Answer as [{{'Position': [x1, y1, x2, y2], "
        f"'Confidence': number}}, ...], or No Objects if there is none."
    )
    answer = detections_text([obj.box.thousandths() for obj in matches])
    return SyntheticRecord(draw_scene(objects), problem, tagged(answer), describe(matches))


def ground(rng: random.Random) -> SyntheticRecord:
    """The box of the one object of a named colour and shape (colours are unique in the
    scene)."""
    count = rng.randint(*GROUND_OBJECTS)
    objects = random_scene(rng, distinct_colours(rng, count))
    target = rng.choice(objects)
    problem = (
        f"Give the bounding box of the {target.name} in the image as [x1, y1, x2, y2] with "
        f"coordinates from 0 to 1000. {BOX_INSTRUCTIONS}"
    )
    answer = tagged(box_text(target.box.thousandths()))
    return SyntheticRecord(draw_scene(objects), problem, answer, describe([target]))
