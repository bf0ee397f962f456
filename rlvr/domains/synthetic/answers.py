"""What a synthetic task produces, and how questions, options and answers are written.

Answers follow the reference domains exactly: an option letter, one box ``[x1, y1, x2, y2]`` or a
detection list ``[{'Position': [x1, y1, x2, y2], 'Confidence': 1.0}, ...]`` (``No Objects``
when nothing matches), coordinates 0-1000, always inside ``<answer>...</answer>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

LETTERS = "ABCDE"
NO_OBJECTS = "No Objects"
# Box tasks carry their own output instructions (as the reference's coco and lisa problems do).
BOX_INSTRUCTIONS = (
    "Output the thinking process in <think> </think> and final answer in <answer> </answer> tags."
)


@dataclass(frozen=True)
class SyntheticRecord:
    """One generated example.

    Attributes:
        image: the RGB picture.
        problem: the problem text.
        solution: the answer inside ``<answer>...</answer>``.
        thinking: a templated description of what the picture shows that the answer needs
            (objects and their grid cells, bar values, segment lengths, the angle), for a
            reference completion (`reference_completion`); not part of the domain's records.
    """

    image: Image.Image
    problem: str
    solution: str
    thinking: str


@dataclass(frozen=True)
class Choice:
    """A multiple-choice question: the options' texts and the index of the right one."""

    options: tuple[str, ...]
    correct: int

    def __post_init__(self) -> None:
        if not 2 <= len(self.options) <= len(LETTERS):
            raise ValueError(f"2 to {len(LETTERS)} options are needed, got {len(self.options)}")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"options repeat: {self.options}")
        if not 0 <= self.correct < len(self.options):
            raise ValueError(
                f"correct index {self.correct} outside the {len(self.options)} options"
            )

    def text(self) -> str:
        """``Options: (A) red (B) green (C) blue.``"""
        listed = " ".join(f"({LETTERS[i]}) {option}" for i, option in enumerate(self.options))
        return f"Options: {listed}."

    def letter(self) -> str:
        return LETTERS[self.correct]

    @classmethod
    def of(cls, options: Sequence[object], answer: object) -> Choice:
        """The choice among ``options`` (written with ``str``) whose right one is ``answer``."""
        texts = tuple(str(option) for option in options)
        return cls(texts, texts.index(str(answer)))


def multiple_choice(
    image: Image.Image, question: str, choice: Choice, thinking: str
) -> SyntheticRecord:
    """A record asking ``question`` with ``choice``'s options; the answer is the letter."""
    return SyntheticRecord(image, f"{question} {choice.text()}", tagged(choice.letter()), thinking)


def tagged(answer: str) -> str:
    """``<answer>{answer}</answer>``."""
    return f"<answer>{answer}</answer>"


def box_text(box: Sequence[int]) -> str:
    """``[x1, y1, x2, y2]``."""
    return "[" + ", ".join(str(int(v)) for v in box) + "]"


def detections_text(boxes: Sequence[Sequence[int]]) -> str:
    """The detection list of ``boxes`` with confidence 1.0, or `NO_OBJECTS` when empty."""
    if not boxes:
        return NO_OBJECTS
    entries = ", ".join(f"{{'Position': {box_text(box)}, 'Confidence': 1.0}}" for box in boxes)
    return f"[{entries}]"


def plural(shape: str) -> str:
    """``circle`` -> ``circles``."""
    return f"{shape}s"


def reference_completion(record: SyntheticRecord) -> str:
    """The completion that a record teaches: ``<think>{thinking}</think><answer>...</answer>``;
    it follows the rewards' format and gives the solution's answer."""
    return f"<think>{record.thinking}</think>{record.solution}"
