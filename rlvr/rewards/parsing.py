"""Total parsers from model output (or dataset solutions) to answers. They never raise.

Every function here accepts any object and returns None (or an empty result) for what it cannot
read. None of them evaluates text: detection lists are read with `json.loads` after a quote
normalisation, else with a tolerant regex scan. Every regex is linear in its input (no nested
quantifiers), so a 100 KB completion costs milliseconds.

Tags (``<answer>``, ``<think>``) are matched case-insensitively everywhere.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import NamedTuple

from rlvr.rewards.boxes import Box, make_box

_ANSWER_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
# Greedy ".*" anchored at the start finds the LAST tag in one linear pass (match, not search).
_UP_TO_LAST_OPEN = re.compile(r".*<answer>", re.IGNORECASE | re.DOTALL)
_UP_TO_LAST_CLOSE = re.compile(r".*(?=</answer>)", re.IGNORECASE | re.DOTALL)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_BOX = re.compile(rf"\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]")
# The option letter: bare and followed by the end or a delimiter ("B", "B.", "B) text",
# "B: text", "B\nbecause"), or wrapped ("(B)", "[B]", "{B}"), after an optional lead-in
# ("Answer: B", "The correct option is (C)"). A bare letter followed by a space and text
# ("A triangle ...") is refused: it is a word, not an option.
_OPTION = re.compile(
    r"(?:(?:the\s+)?(?:correct\s+|final\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:\-]?\s*)?"
    r"(?:\((?P<paren>[A-Z])\)|\[(?P<bracket>[A-Z])\]|\{(?P<brace>[A-Z])\}"
    r"|(?P<bare>[A-Z])(?=$|[.):,;\]\n]))",
    re.IGNORECASE,
)
# Characters that decorate an answer without changing it (markdown bold, quotes, code).
_DECORATION = " \t\r\n*\"'`"
_OBJECT = re.compile(r"\{[^{}]*\}")
_POSITION_KEY = re.compile(r"position", re.IGNORECASE)
_POSITION = re.compile(rf"position['\"]?\s*:\s*{_BOX.pattern}", re.IGNORECASE)
_CONFIDENCE = re.compile(rf"confidence['\"]?\s*:\s*({_NUMBER})", re.IGNORECASE)
NO_OBJECTS = "no objects"


class Detection(NamedTuple):
    """One predicted object: its box (None when the entry is invalid) and its confidence.

    An invalid entry (a Position that is not a valid `Box`) is kept so that it counts as an
    unmatched prediction; a missing or non-finite confidence reads as 0.0.
    """

    box: Box | None
    confidence: float


def completion_text(completion: object) -> str | None:
    """The text of a completion: a string, or the last assistant message of a conversation.

    Accepts a plain string, one message ``{"role": ..., "content": ...}`` or a list of messages
    (TRL's conversational format). The chosen message is the last one whose role is
    ``"assistant"`` or absent; its content is a string or a list of parts whose
    ``{"type": "text", "text": ...}`` parts are concatenated. Anything else gives None.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _message_text(completion)
    if isinstance(completion, list | tuple):
        for message in reversed(completion):
            if isinstance(message, Mapping) and message.get("role", "assistant") == "assistant":
                return _message_text(message)
    return None


def answer_content(text: object) -> str | None:
    """The stripped content of the last complete ``<answer>...</answer>`` block, else None.

    Multi-line content is kept whole. The block is the last closing tag and the last opening
    tag before it, so ``<answer>`` written inside the reasoning does not matter.
    """
    if not isinstance(text, str):
        return None
    before_close = _UP_TO_LAST_CLOSE.match(text)
    if before_close is None:
        return None
    through_open = _UP_TO_LAST_OPEN.match(text, 0, before_close.end())
    if through_open is None:
        return None
    return text[through_open.end() : before_close.end()].strip()


def solution_answer(solution: object) -> str | None:
    """The ground-truth answer of a ``solution`` cell: its ``<answer>`` content, or the whole
    stripped string when it has no answer tag at all. None for non-strings or broken tags."""
    if not isinstance(solution, str):
        return None
    content = answer_content(solution)
    if content is not None:
        return content
    if _ANSWER_OPEN.search(solution) or _ANSWER_CLOSE.search(solution):
        return None
    return solution.strip()


def parse_option_letter(text: object) -> str | None:
    """The option letter of an answer, upper-cased, or None.

    Accepted: ``B``, ``b``, ``(B)``, ``[B]``, ``B.``, ``B) text``, ``B: text``,
    ``Answer: B``, ``The answer is (B)``, ``**B**``. Lower-case letters are accepted in the same
    delimited forms (a lone ``b`` is an option, ``a triangle`` is not). Only the beginning of
    the answer is read: ``B) 3 cm because ...`` is B, ``I think B`` is None.
    """
    if not isinstance(text, str):
        return None
    match = _OPTION.match(text.strip(_DECORATION))
    if match is None:
        return None
    letter = next(g for g in match.group("paren", "bracket", "brace", "bare") if g)
    return letter.upper()


def parse_box(text: object) -> Box | None:
    """The first ``[x1, y1, x2, y2]`` in the text as a valid `Box`, else None.

    Numbers may be ints or floats (``1e2`` too); the box must be valid (see `make_box`).
    """
    if not isinstance(text, str):
        return None
    match = _BOX.search(text)
    if match is None:
        return None
    return make_box([float(v) for v in match.groups()])


def parse_detections(text: object) -> list[Detection] | None:
    """A detection list ``[{'Position': [x1, y1, x2, y2], 'Confidence': c}, ...]``, else None.

    ``No Objects`` (any case, optional final period) and ``[]`` give an empty list. Single or
    double quotes are accepted: the quotes are normalised and the text read with `json.loads`
    (NaN and infinities refused); a single object or a list of bare boxes is accepted too. If
    that fails (prose around the list, a list cut off mid-way, apostrophes in strings), the
    complete ``{...}`` objects that carry a Position are kept; None if there is none.
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if stripped.rstrip(".").strip().lower() == NO_OBJECTS:
        return []
    from_json = _json_detections(stripped)
    if from_json is not None:
        return from_json
    return _scanned_detections(stripped)


def _message_text(message: Mapping) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list | tuple):
        return None
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping) and part.get("type") == "text":
            text = part.get("text")
            if isinstance(text, str):
                texts.append(text)
    return "".join(texts) if texts else None


def _json_detections(text: str) -> list[Detection] | None:
    if not text.startswith(("[", "{")):
        return None
    try:
        value = json.loads(text.replace("'", '"'), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # JSONDecodeError, NaN, >4300-digit ints, deep nesting
        return None
    if isinstance(value, dict) or _is_number_list(value):
        value = [value]  # one object, or one bare box
    if not isinstance(value, list):
        return None
    return [_detection_from_json(entry) for entry in value]


def _detection_from_json(entry: object) -> Detection:
    if isinstance(entry, list):
        return Detection(make_box(entry), 0.0)
    if not isinstance(entry, dict):
        return Detection(None, 0.0)
    fields = {str(key).lower(): value for key, value in entry.items()}
    confidence = fields.get("confidence")
    return Detection(make_box(fields.get("position")), _confidence(confidence))


def _scanned_detections(text: str) -> list[Detection] | None:
    detections = []
    for obj in _OBJECT.finditer(text):
        chunk = obj.group()
        if not _POSITION_KEY.search(chunk):
            continue
        position = _POSITION.search(chunk)
        box = make_box([float(v) for v in position.groups()]) if position else None
        confidence = _CONFIDENCE.search(chunk)
        detections.append(Detection(box, _confidence(float(confidence[1]) if confidence else 0)))
    return detections or None


def _is_number_list(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def _confidence(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    try:
        value = float(value)
    except OverflowError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def _refuse_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} in a detection list")
