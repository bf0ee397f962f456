"""Observed results of trained mixtures, and reading them from a CSV file.

The CSV has one column ``w.<domain>`` per domain (weights) and one column per metric. Rows
are numbered as a spreadsheet shows them: the header is row 1, the first result row 2.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mixopt.errors import ObservationError
from mixopt.mixture import SUM_TOLERANCE, MixtureSpace

WEIGHT_PREFIX = "w."


@dataclass(frozen=True)
class Observations:
    """Results of `n` trained mixtures: `X: n x d` weights and `Y: n x m` objective values.

    `rows` gives each observation's row number in its source file (for error messages).
    """

    space: MixtureSpace
    X: np.ndarray
    Y: np.ndarray
    objectives: tuple[str, ...]
    rows: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.X)

    def objective(self, name: str) -> np.ndarray:
        """The `n`-vector of one objective's values."""
        if name not in self.objectives:
            raise ObservationError(f"unknown objective {name!r}; have {list(self.objectives)}")
        return self.Y[:, self.objectives.index(name)]


def _parse_float(text: str, *, source: str, row: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        problem = f"{text!r} is not a number" if text.strip() else "empty cell, expected a number"
        raise ObservationError(problem, source=source, row=row, column=column) from None
    if not math.isfinite(value):
        raise ObservationError(f"value {text!r} is not finite", source=source, row=row,
                               column=column)
    return value


def _refuse_other_separators(header: list[str], source: str) -> None:
    """A header of one cell holding ``;`` or a tab is a file with another separator."""
    for name, separator in (("semicolons", ";"), ("tabs", "\t")):
        if len(header) == 1 and separator in header[0]:
            raise ObservationError(
                f"the header is one column {header[0]!r}: the file seems separated by {name}; "
                "save it comma-separated (decimal points, not commas)", source=source, row=1)


def read_csv(
    path: str | Path,
    objectives: Sequence[str],
    *,
    domains: Sequence[str] | None = None,
    normalize: bool = False,
) -> Observations:
    """Read observations from `path`.

    Args:
        objectives: metric columns to read (other metric columns are ignored).
        domains: if given, the ``w.*`` columns must be exactly these domains.
        normalize: rescale each row's weights to sum to 1 instead of rejecting the row.

    Raises:
        ObservationError: unreadable or empty file, a file separated by semicolons or tabs,
            a missing, duplicated or unexpected
            column, a row with the wrong number of cells, a weight that is not a finite
            non-negative number, weights not summing to 1 (within 1e-6), a non-finite
            objective value, or two identical rows. The message names file, row and column.
    """
    source = str(path)
    try:
        # utf-8-sig: spreadsheet programs start the file with a byte-order mark, which would
        # otherwise become part of the first column's name.
        with open(path, newline="", encoding="utf-8-sig") as fh:
            table = list(csv.reader(fh))
    except FileNotFoundError:
        raise ObservationError("file not found", source=source) from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ObservationError(f"cannot read as CSV ({err})", source=source) from None
    table = [r for r in table if any(cell.strip() for cell in r)]
    if not table:
        raise ObservationError("the file is empty", source=source)
    header = [h.strip() for h in table[0]]
    _refuse_other_separators(header, source)
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise ObservationError(f"duplicate column(s) {dupes}", source=source, row=1)
    weight_cols = [h for h in header if h.startswith(WEIGHT_PREFIX)]
    names = [h[len(WEIGHT_PREFIX):] for h in weight_cols]
    if not weight_cols or any(not n for n in names):
        raise ObservationError(
            f"needs one column '{WEIGHT_PREFIX}<domain>' per domain; columns are {header}",
            source=source, row=1,
        )
    if domains is not None:
        missing = [d for d in domains if d not in names]
        extra = [d for d in names if d not in domains]
        if missing or extra:
            raise ObservationError(
                f"weight columns do not match the domains: missing {missing}, unexpected {extra}",
                source=source, row=1,
            )
        names = list(domains)
        weight_cols = [WEIGHT_PREFIX + d for d in names]
    if not objectives:
        raise ObservationError("no objective column was named", source=source)
    for obj in objectives:
        if obj not in header:
            metrics = [h for h in header if not h.startswith(WEIGHT_PREFIX)]
            raise ObservationError(
                f"objective column {obj!r} not found; metric columns are {metrics}",
                source=source, row=1,
            )
    space = MixtureSpace(tuple(names))
    w_idx = [header.index(c) for c in weight_cols]
    y_idx = [header.index(c) for c in objectives]
    X, Y, rows, seen = [], [], [], {}
    for row_number, cells in enumerate(table[1:], start=2):
        if len(cells) != len(header):
            raise ObservationError(
                f"has {len(cells)} cells but the header has {len(header)} columns",
                source=source, row=row_number,
            )
        w = [_parse_float(cells[i], source=source, row=row_number, column=header[i])
             for i in w_idx]
        for i, value in zip(w_idx, w, strict=True):
            if value < 0:
                raise ObservationError(f"weight {value} is negative", source=source,
                                       row=row_number, column=header[i])
        total = sum(w)
        if normalize and total > 0:
            w = [v / total for v in w]
        elif abs(total - 1.0) > SUM_TOLERANCE:
            raise ObservationError(
                f"weights sum to {total:.9g}, not 1 (use --normalize to rescale)",
                source=source, row=row_number, column=",".join(weight_cols),
            )
        y = [_parse_float(cells[i], source=source, row=row_number, column=header[i])
             for i in y_idx]
        key = tuple(c.strip() for c in cells)
        if key in seen:
            raise ObservationError(
                f"is identical to row {seen[key]} (a duplicated line? replicates of one "
                "mixture must differ in their scores)", source=source, row=row_number,
            )
        seen[key] = row_number
        X.append(w)
        Y.append(y)
        rows.append(row_number)
    if not X:
        raise ObservationError("has a header but no result rows", source=source)
    return Observations(
        space=space,
        X=np.asarray(X, dtype=float),
        Y=np.asarray(Y, dtype=float),
        objectives=tuple(objectives),
        rows=tuple(rows),
    )
