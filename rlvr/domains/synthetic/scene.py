"""Drawing the synthetic tasks' pictures: a tiny vocabulary of colours and shapes on a grid.

Every picture is ``IMAGE_SIZE`` x ``IMAGE_SIZE`` = 112 x 112 RGB pixels. Objects sit in the
cells of a ``GRID`` x ``GRID`` grid whose cells are ``CELL`` = 28 px wide: one Qwen2-VL image
token each (2 x 2 patches of 14 px, merged), and an object of 20 or 24 px fills most of its
token, shifted at random inside its cell so that boxes are not all alike.

Three choices make the pictures learnable by the tiny model of `rlvr.models.tiny` in minutes
(measured on toy questions, 16 prompts a step):

- objects fill most of an image token: the colour of a 10 px object in a 56 px picture was
  not learnt in 600 steps, that of a 24 px one in a 112 px picture in 150;
- the background is about the mean colour that the Qwen2-VL image processor subtracts, so that
  empty areas are about 0 after normalization and do not drown the objects (on white, the
  same question was not learnt in 150 steps);
- the background is a colour gradient (red grows to the right, blue downwards), so that
  every image token carries where it is: Qwen2-VL's rotary positions act on attention scores
  only, and a tiny model cannot learn from them in minutes where the token it attends to
  lies ("in which quarter is the shape": 29 % after 200 steps on a flat background, 98 % on
  the gradient).

Pixel boxes are ``(x1, y1, x2, y2)`` with ``x2`` and ``y2`` exclusive: the object covers the
columns ``x1 .. x2 - 1``. `PixelBox.thousandths` turns one into the reference's 0-1000
coordinates (``1000 * x / IMAGE_SIZE``, rounded).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

IMAGE_SIZE = 112
GRID = 4
CELL = IMAGE_SIZE // GRID
# OpenAI CLIP's image mean (0.481, 0.458, 0.408) x 255: Qwen2-VL's normalization maps it to 0.
BACKGROUND = (123, 117, 104)
# Half the range of the background's gradient: red from -96 (left) to +96 (right), blue from
# -96 (top) to +96 (bottom) around BACKGROUND. (At +-64 the cell of a 24 px object was linearly
# readable from its image token of a random tiny model 66-70 % of the time, at +-96 82-88 %.)
GRADIENT = 96
INK = (0, 0, 0)
GRIDLINE = (175, 175, 175)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (30, 160, 60),
    "blue": (40, 90, 230),
    "yellow": (230, 190, 20),
}
SHAPES = ("circle", "square", "triangle")
OBJECT_SIZES = (20, 24)
COORDINATE_SCALE = 1000


@dataclass(frozen=True)
class PixelBox:
    """An axis-aligned box in pixels, ``x2`` and ``y2`` exclusive (``x1 < x2``, ``y1 < y2``)."""

    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def center(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2

    def thousandths(self, size: int = IMAGE_SIZE) -> tuple[int, int, int, int]:
        """The box in 0-1000 coordinates of a ``size`` x ``size`` image (rounded)."""
        return tuple(  # type: ignore[return-value]
            round(COORDINATE_SCALE * v / size) for v in (self.x1, self.y1, self.x2, self.y2)
        )


@dataclass(frozen=True)
class SceneObject:
    """A coloured shape in one grid cell.

    Attributes:
        colour: a key of `COLOURS`.
        shape: one of `SHAPES`.
        column: grid column, 0 (left) to ``GRID - 1``.
        row: grid row, 0 (top) to ``GRID - 1``.
        box: where it is drawn, in pixels.
    """

    colour: str
    shape: str
    column: int
    row: int
    box: PixelBox

    @property
    def name(self) -> str:
        """``"red circle"``."""
        return f"{self.colour} {self.shape}"


def cells() -> list[tuple[int, int]]:
    """Every ``(column, row)`` of the grid, row by row."""
    return [(column, row) for row in range(GRID) for column in range(GRID)]


def place(rng: random.Random, colour: str, shape: str, column: int, row: int) -> SceneObject:
    """An object of a random size (`OBJECT_SIZES`) at a random offset inside its cell."""
    size = rng.choice(OBJECT_SIZES)
    x1 = column * CELL + rng.randint(0, CELL - size)
    y1 = row * CELL + rng.randint(0, CELL - size)
    return SceneObject(colour, shape, column, row, PixelBox(x1, y1, x1 + size, y1 + size))


def distinct_colours(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` ``(colour, shape)`` pairs of different colours (at most 4), random shapes."""
    return [(colour, rng.choice(SHAPES)) for colour in rng.sample(tuple(COLOURS), count)]


def random_kind(rng: random.Random) -> tuple[str, str]:
    """A random ``(colour, shape)``."""
    return rng.choice(tuple(COLOURS)), rng.choice(SHAPES)


def reading_order(objects: Iterable[SceneObject]) -> list[SceneObject]:
    """The objects top to bottom, then left to right (by grid cell)."""
    return sorted(objects, key=lambda obj: (obj.row, obj.column))


def describe(objects: Iterable[SceneObject]) -> str:
    """``red circle at 1 2, blue square at 3 0``: each object with its grid column and row,
    in the order given; ``none`` for no object."""
    return ", ".join(f"{obj.name} at {obj.column} {obj.row}" for obj in objects) or "none"


@functools.cache
def _background() -> Image.Image:
    red = [
        BACKGROUND[0] + (x - IMAGE_SIZE // 2) * GRADIENT // (IMAGE_SIZE // 2)
        for x in range(IMAGE_SIZE)
    ]
    blue = [
        BACKGROUND[2] + (y - IMAGE_SIZE // 2) * GRADIENT // (IMAGE_SIZE // 2)
        for y in range(IMAGE_SIZE)
    ]
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE))
    image.putdata(
        [(red[x], BACKGROUND[1], blue[y]) for y in range(IMAGE_SIZE) for x in range(IMAGE_SIZE)]
    )
    return image


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """An empty ``IMAGE_SIZE`` x ``IMAGE_SIZE`` RGB image (the gradient background) and a pen
    on it."""
    image = _background().copy()
    return image, ImageDraw.Draw(image)


def draw_object(draw: ImageDraw.ImageDraw, obj: SceneObject) -> None:
    """Fill ``obj``'s shape inside its box (the triangle points up)."""
    box = obj.box
    fill = COLOURS[obj.colour]
    corners = (box.x1, box.y1, box.x2 - 1, box.y2 - 1)  # Pillow includes the far edge
    if obj.shape == "circle":
        draw.ellipse(corners, fill=fill)
    elif obj.shape == "square":
        draw.rectangle(corners, fill=fill)
    elif obj.shape == "triangle":
        apex = ((box.x1 + box.x2 - 1) / 2, box.y1)
        draw.polygon([(box.x1, box.y2 - 1), apex, (box.x2 - 1, box.y2 - 1)], fill=fill)
    else:
        raise ValueError(f"unknown shape {obj.shape!r}; shapes: {', '.join(SHAPES)}")


def draw_scene(objects: Sequence[SceneObject]) -> Image.Image:
    """A picture of ``objects`` on the background."""
    image, draw = canvas()
    for obj in objects:
        draw_object(draw, obj)
    return image
