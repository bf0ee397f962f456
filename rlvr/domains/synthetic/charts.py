"""Bar charts: reading them (the synthetic counterpart of the reference's scienceqa), and
comparing bars found by their position (an out-of-domain task: chart reading + spatial).

A chart has 3 or 4 bars of distinct colours and distinct values 1-8 (10 px a unit) over light
grid lines, one a unit, and a black baseline. Each bar stands in its own column of image tokens
(`scene.CELL` px wide), 3-bar charts in the left or the right three; bars are 12 or 16 px wide
and shifted by up to 2 px, so that equal values make different pictures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image

from rlvr.domains.synthetic.answers import Choice, SyntheticRecord, multiple_choice
from rlvr.domains.synthetic.scene import CELL, COLOURS, GRID, GRIDLINE, IMAGE_SIZE, INK, canvas

BASELINE = 100
UNIT = 10
VALUES = range(1, 9)
BAR_WIDTHS = (12, 16)
SHIFT = 2
BAR_COUNTS = (3, 4)
VALUE_RANGES = {"1 or 2": (1, 2), "3 or 4": (3, 4), "5 or 6": (5, 6), "7 or 8": (7, 8)}


@dataclass(frozen=True)
class Chart:
    """Bars left to right: their colours and values; their first column, width and shift."""

    colours: tuple[str, ...]
    values: tuple[int, ...]
    first_column: int = 0
    bar_width: int = BAR_WIDTHS[-1]
    shift: int = 0

    def value_of(self, colour: str) -> int:
        return self.values[self.colours.index(colour)]

    def describe(self) -> str:
        """``bars green 4, blue 1, yellow 7``: the bars left to right with their values."""
        bars = ", ".join(f"{c} {v}" for c, v in zip(self.colours, self.values, strict=True))
        return f"bars {bars}"


def random_chart(rng: random.Random, bars: int | None = None) -> Chart:
    """A chart of ``bars`` bars (3 or 4 at random when None), distinct colours and values."""
    bars = bars if bars is not None else rng.choice(BAR_COUNTS)
    colours = tuple(rng.sample(tuple(COLOURS), bars))
    values = tuple(rng.sample(VALUES, bars))
    first = rng.randint(0, GRID - bars)
    return Chart(colours, values, first, rng.choice(BAR_WIDTHS), rng.randint(-SHIFT, SHIFT))


def draw_chart(chart: Chart) -> Image.Image:
    """The chart's picture: grid lines, bars, baseline."""
    image, draw = canvas()
    for unit in VALUES:
        y = BASELINE - UNIT * unit
        draw.line([(4, y), (IMAGE_SIZE - 5, y)], fill=GRIDLINE, width=1)
    for i, (colour, value) in enumerate(zip(chart.colours, chart.values, strict=True)):
        # Centred in its column of image tokens, then shifted.
        x = (chart.first_column + i) * CELL + (CELL - chart.bar_width) // 2 + chart.shift
        corners = (x, BASELINE - UNIT * value, x + chart.bar_width - 1, BASELINE)
        draw.rectangle(corners, fill=COLOURS[colour])
    draw.line([(4, BASELINE), (IMAGE_SIZE - 5, BASELINE)], fill=INK, width=2)
    return image


def chart(rng: random.Random) -> SyntheticRecord:
    """Which bar is the tallest or shortest (options: the four colours), or the value of a bar
    (options: the ranges of `VALUE_RANGES`); options always in the same order."""
    drawn = random_chart(rng)
    image = draw_chart(drawn)
    if rng.random() < 0.5:
        extreme = rng.choice(("tallest", "shortest"))
        pick = max if extreme == "tallest" else min
        answer = drawn.colours[drawn.values.index(pick(drawn.values))]
        choice = Choice.of(tuple(COLOURS), answer)
        return multiple_choice(image, f"Which bar is the {extreme}?", choice, drawn.describe())
    colour = rng.choice(drawn.colours)
    value = drawn.value_of(colour)
    answer = next(text for text, values in VALUE_RANGES.items() if value in values)
    question = f"What is the value of the {colour} bar?"
    choice = Choice.of(tuple(VALUE_RANGES), answer)
    return multiple_choice(image, question, choice, f"the {colour} bar is {value}")


def chart_comparison(rng: random.Random) -> SyntheticRecord:
    """Out of domain: a bar named by its place next to a coloured bar, compared by height.

    Either "is the bar left (right) of the green bar taller than the green bar?" (yes/no), or
    "which is taller, the bar left of the green bar or the bar right of it?" (left/right).
    """
    drawn = random_chart(rng, bars=4)
    image = draw_chart(drawn)
    if rng.random() < 0.5:
        side = rng.choice(("left", "right"))
        index = rng.randrange(1, 4) if side == "left" else rng.randrange(0, 3)
        neighbour = index - 1 if side == "left" else index + 1
        colour = drawn.colours[index]
        taller = drawn.values[neighbour] > drawn.values[index]
        question = f"Is the bar {side} of the {colour} bar taller than the {colour} bar?"
        choice = Choice.of(("yes", "no"), "yes" if taller else "no")
        return multiple_choice(image, question, choice, drawn.describe())
    index = rng.randrange(1, 3)
    colour = drawn.colours[index]
    answer = "left" if drawn.values[index - 1] > drawn.values[index + 1] else "right"
    question = f"Which is taller, the bar left of the {colour} bar or the bar right of it?"
    return multiple_choice(image, question, Choice.of(("left", "right"), answer), drawn.describe())
