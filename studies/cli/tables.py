"""The tables of `mixopt study status` and `predict`, printed so that nothing in them is cut.

On a terminal a table fits the terminal's width: column titles and notes fold onto more lines,
numbers and statuses never do. Where even that does not fit, and wherever the output is not a
terminal (a pipe, a file, a log) or ``--wide`` is given, the table keeps its natural width:
lines may be longer than a window, but no number or name ends in "…".
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from studies.number_format import format_column
from studies.trials import latest_attempts

if TYPE_CHECKING:
    from studies.analysis import StudyView
    from studies.compare import TextTable as CompareTable

# A width rich never reaches: the table is laid out at its natural width (tables are not
# expanded, so they do not fill it).
UNLIMITED = 100_000
# Least width of a column of free text (notes) on a terminal; longer words fold.
TEXT_MIN_WIDTH = 12
# A table cell's padding (one space each side) and its border.
CELL_EXTRA = 3
# Characters of a trial's note shown off --wide (--wide and --json show all of it).
NOTE_CHARS = 120

Kind = Literal["number", "word", "text", "mixed"]


@dataclass(frozen=True)
class Column:
    """A column: `number` (right-aligned) and `word` (e.g. a status) cells are never broken;
    `text` cells, `mixed` ones (right-aligned numbers and notes) and every title may fold
    onto more lines, at their spaces first."""

    title: str
    kind: Kind


@dataclass(frozen=True)
class TextTable:
    """A table of plain-text cells (no console markup is interpreted), before it is laid out.

    Attributes:
        title: the line above the table.
        columns: one `Column` per cell of a row.
        rows: the cells.
        bold: (row, column) of the cells to emphasize.

    Raises:
        ValueError: a row with another number of cells than `columns`.
    """

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    bold: frozenset[tuple[int, int]] = frozenset()

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"row {i} has {len(row)} cells for {len(self.columns)} columns")

    def natural_widths(self) -> list[int]:
        """Per column, the width that puts its title and each cell on one line."""
        return [max(len(line) for text in (col.title, *(row[j] for row in self.rows))
                    for line in (text.splitlines() or [""])) or 1
                for j, col in enumerate(self.columns)]

    def least_widths(self) -> list[int]:
        """Per column, the narrowest width that keeps its cells whole (notes fold)."""
        natural = self.natural_widths()
        out = []
        for j, col in enumerate(self.columns):
            if col.kind in ("text", "mixed"):
                out.append(min(TEXT_MIN_WIDTH, natural[j]))
            else:
                out.append(max([len(row[j]) for row in self.rows], default=1) or 1)
        return out

    def fit(self, width: int) -> list[int] | None:
        """Column widths (content, without padding) that fit `width` characters, narrowing
        the widest columns first; None when even the least widths do not fit."""
        room = width - 1 - CELL_EXTRA * len(self.columns)
        widths, least = self.natural_widths(), self.least_widths()
        if sum(least) > room:
            return None
        while sum(widths) > room:
            j = max((k for k in range(len(widths)) if widths[k] > least[k]),
                    key=lambda k: widths[k])
            widths[j] -= 1
        return widths

    def to_rich(self, widths: Sequence[int] | None = None) -> Table:
        """A rich `Table`; `widths` (from `fit`) fixes each column's width."""
        table = Table(title=Text(self.title))
        for j, col in enumerate(self.columns):
            table.add_column(Text(col.title),
                             justify="right" if col.kind in ("number", "mixed") else "left",
                             overflow="fold", width=None if widths is None else widths[j])
        for i, row in enumerate(self.rows):
            table.add_row(*(Text(c, style="bold" if (i, j) in self.bold else "")
                            for j, c in enumerate(row)))
        return table


def terminal_width(file: TextIO) -> int | None:
    """Columns of the terminal `file` writes to, or None when it is not a terminal."""
    try:
        if not file.isatty():
            return None
        return os.get_terminal_size(file.fileno()).columns or None
    except (AttributeError, ValueError, OSError):  # no file descriptor: not a terminal
        return None


def print_table(table: TextTable, *, wide: bool = False, file: TextIO | None = None) -> None:
    """Print `table` to `file` (default stdout) at the terminal's width, or at its natural
    width with `wide`, off a terminal, or when its numbers would not fit the terminal."""
    file = sys.stdout if file is None else file
    width = None if wide else terminal_width(file)
    widths = None if width is None else table.fit(width)
    if widths is not None:
        Console(file=file, width=width).print(table.to_rich(widths))
        return
    buffer = io.StringIO()
    Console(file=buffer, width=UNLIMITED, force_terminal=False, color_system=None,
            highlight=False).print(table.to_rich())
    # rich centres the title over the whole width: strip what it pads.
    file.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


# ---- the tables ----------------------------------------------------------------------------


def status_table(view: StudyView, *, wide: bool = False) -> TextTable:
    """One row per trial (its latest attempt): index, attempt, status, weights, objective
    (the best marked ``*``), the note (its first `NOTE_CHARS` characters unless `wide`)."""
    latest = latest_attempts(view.trials)
    best = view.best_observed()
    objective = format_column([r.objective for r in latest])
    # A study with proxies (`search.proxies`) gets a fidelity column: the proxy's name, or
    # `target`; the best (`*`) is a target trial's.
    proxies = any(not r.is_target for r in latest)
    rows = []
    for r, value in zip(latest, objective, strict=True):
        note = r.reason if wide else r.reason.splitlines()[0][:NOTE_CHARS] if r.reason else ""
        mark = " *" if best is not None and r.index == best.index else ""
        fidelity = (r.proxy or "target",) if proxies else ()
        rows.append((str(r.index), str(r.attempt), r.status.value, *fidelity,
                     *(f"{r.weights.get(d, 0.0):.3f}" for d in view.domains),
                     (value or "-") + mark, note))
    columns = [Column("trial", "number"), Column("attempt", "number"), Column("status", "word"),
               *((Column("fidelity", "word"),) if proxies else ()),
               *(Column(d, "number") for d in view.domains), Column(view.objective, "number"),
               Column("note", "text")]
    direction = "maximize" if view.maximize else "minimize"
    return TextTable(f"study {view.name}: {view.objective} ({direction})", tuple(columns),
                     tuple(rows))


def predict_table(view: StudyView, tops: Sequence[Mapping[str, Any]], n_trials: int) -> TextTable:
    """The surrogate's best mixtures, best first (`Predicted.to_json` each): rank, weights,
    predicted mean and std."""
    means = format_column([p["mean"] for p in tops])
    stds = format_column([p["std"] for p in tops])
    rows = [(str(rank), *(f"{p['weights'].get(d, 0.0):.3f}" for d in view.domains),
             mean or "-", std or "-")
            for rank, (p, mean, std) in enumerate(zip(tops, means, stds, strict=True), 1)]
    columns = [Column("rank", "number"), *(Column(d, "number") for d in view.domains),
               Column(f"{view.objective} mean", "number"), Column("std", "number")]
    return TextTable(f"{view.surrogate} on {n_trials} completed trials of {view.name}",
                     tuple(columns), tuple(rows))


def from_compare(table: CompareTable, title: str = "") -> TextTable:
    """A table of `studies.compare` (``compare_table``, ``trial_results``) for `print_table`:
    its number columns may fold at spaces (they hold notes such as ``n/a (...)``)."""
    columns = tuple(Column(h, "mixed" if numeric else "text")
                    for h, numeric in zip(table.header, table.numeric, strict=True))
    return TextTable(title, columns, table.rows, table.bold)
