"""Reading YAML config files and reporting every validation error with its key path.

A report has one line per error, ``FILE: key.path: message`` (``[i]`` for list items), so a user
fixes a file in one pass. Only ``yaml.safe_load`` is used: a config file never runs code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

TOP_LEVEL = "(top level)"


class ConfigFileError(ValueError):
    """A config file that cannot be used; ``lines`` holds one ``FILE: key.path: message`` each.

    ``str(error)`` is the lines joined by newlines.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


def read_yaml(path: Path) -> object:
    """The content of a YAML file (``yaml.safe_load``); None for an empty file.

    Raises:
        ConfigFileError: the file is missing or unreadable, or is not valid YAML (the line names
            the position of the problem).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError([f"{path}: cannot read the file: {error}"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigFileError([f"{path}: invalid YAML: {where}{problem}"]) from None


def key_path(parts: Sequence[str | int]) -> str:
    """``("grpo", "beta")`` -> ``"grpo.beta"``; ``("domain_files", 0)`` -> ``"domain_files[0]"``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or TOP_LEVEL


def validation_error_lines(
    source: object, error: ValidationError, data: object, prefix: Sequence[str | int] = ()
) -> list[str]:
    """One ``SOURCE: key.path: message`` line per error of ``error``.

    Args:
        source: what the user should open (usually the file path).
        error: the pydantic error raised while validating ``data``.
        data: the input that was validated; used to drop the parts of pydantic's locations
            that are not keys of the input (the tag of a discriminated union, a validator
            name), so the path is the one the user wrote.
        prefix: the path of ``data`` inside the file.
    """
    lines = []
    for item in error.errors(include_url=False):
        path = [*prefix, *_path_in_input(item["loc"], data)]
        lines.append(f"{source}: {key_path(path)}: {_message(item)}")
    return lines


def _path_in_input(loc: Sequence[str | int], data: object) -> list[str | int]:
    path: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif last and isinstance(node, Mapping) and part != "[key]":
            node = None  # a missing key: pydantic names it last
        else:
            continue  # not a key the user wrote: a union member, a tag, a validator name
        path.append(part)
    return path


def _message(item: Mapping[str, object]) -> str:
    message = str(item["msg"])
    # Errors raised by our validators arrive as "Value error, <our message>".
    for noise in ("Value error, ", "Assertion failed, "):
        if message.startswith(noise):
            message = message[len(noise) :]
    if item["type"] == "extra_forbidden":
        message = "unknown key (not allowed here)"
    return message
