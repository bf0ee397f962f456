"""Studies side by side, and one study's per-trial results, as text.

Formats: ``"table"`` (the terminal, through `rich`), ``"markdown"``, ``"latex"`` (a booktabs
``tabular``) and ``"csv"``. CSV keeps numbers at full precision; a study's per-trial CSV has
``w.<domain>`` weight columns and can be read back by ``mixopt.observations.read_csv``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mixopt.errors import MixoptError
from studies.analysis import Predicted, StudyView, fit_study
from studies.trials import TrialStatus, completed, latest_attempts

Format = Literal["table", "markdown", "latex", "csv"]
FORMATS: tuple[str, ...] = get_args(Format)
WEIGHT_PREFIX = "w."  # as in `mixopt.observations`

# Terminal width for "table": wide enough that rich never wraps a cell (tables are not
# expanded, so they keep their natural width).
TABLE_WIDTH = 1000

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # Under the default OT1 font encoding these print as other glyphs (an em dash, ¡, ¿).
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "±": r"$\pm$",
}


@dataclass(frozen=True)
class TextTable:
    """A table of text cells, before it is written in one format.

    Attributes:
        header: column titles.
        rows: rows of cells, each as long as `header`.
        numeric: per column, whether it holds numbers (right-aligned).
        bold: (row, column) of the cells to emphasize (e.g. the best objective value).
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    bold: frozenset[tuple[int, int]] = frozenset()

    def __post_init__(self) -> None:
        width = len(self.header)
        if len(self.numeric) != width or any(len(row) != width for row in self.rows):
            raise ValueError("every row and `numeric` must have one entry per column")


def compare_studies(views: Sequence[StudyView], fmt: Format = "table") -> str:
    """`views` side by side, one column per study: objective, best observed value and trial,
    trials completed/failed/total, and the surrogate's recommendation with its predicted
    mean ± std (or ``n/a (reason)`` when the surrogate cannot be fitted yet).

    Each study's surrogate is fitted here (`fit_study`). In CSV the prediction takes two rows
    (mean, std) so that both stay numbers.

    Raises:
        MixoptError: no study, or an unknown `fmt`.
    """
    _check_format(fmt)
    return render(compare_table(views, precise=fmt == "csv"), fmt)


def compare_studies_rich(views: Sequence[StudyView]) -> Table:
    """`compare_studies` as a `rich` table, for a console to print in colour."""
    return to_rich(compare_table(views, precise=False))


def trials_table(view: StudyView, fmt: Format = "table") -> str:
    """The per-trial results of `view`: one row per completed trial (its latest attempt), in
    index order, with columns trial, ``w.<domain>`` per domain, the objective, and every other
    metric any trial has (blank where a trial lacks it). The best objective value is bold in
    the table, Markdown and LaTeX.

    Raises:
        MixoptError: an unknown `fmt`.
    """
    _check_format(fmt)
    return render(trial_results(view, precise=fmt == "csv"), fmt)


def trials_table_rich(view: StudyView) -> Table:
    """`trials_table` as a `rich` table, for a console to print in colour."""
    return to_rich(trial_results(view, precise=False))


# ---- building the tables ---------------------------------------------------------------


def compare_table(views: Sequence[StudyView], *, precise: bool) -> TextTable:
    """The table of `compare_studies` (full-precision numbers and a two-row prediction when
    `precise`)."""
    if not views:
        raise MixoptError("no study to compare")
    domains: list[str] = []
    for view in views:
        domains += [d for d in view.domains if d not in domains]
    columns = [_study_column(view, domains, precise) for view in views]
    labels = [label for label, _ in columns[0]]
    rows = tuple((label, *(column[i][1] for column in columns)) for i, label in enumerate(labels))
    return TextTable(
        header=("", *(view.name for view in views)),
        rows=rows,
        numeric=(False, *([True] * len(views))),
    )


def _study_column(view: StudyView, domains: Sequence[str], precise: bool) -> list[tuple[str, str]]:
    """(row label, cell) pairs of one study's column."""
    latest = latest_attempts(view.trials)
    n_done = len(completed(view.trials))
    n_failed = sum(r.status in (TrialStatus.FAILED, TrialStatus.ABANDONED) for r in latest)
    best = view.best_observed()
    recommended, why = _recommend(view)
    cells = [
        ("objective", f"{view.objective} ({'max' if view.maximize else 'min'})"),
        ("best observed", _number(best.objective, precise) if best else "n/a (no completed trial)"),
        ("best trial", str(best.index) if best else ""),
        ("trials completed/failed/total", f"{n_done}/{n_failed}/{len(latest)}"),
        ("surrogate", view.surrogate),
    ]
    for d in domains:
        if d not in view.domains:
            cell = ""
        elif recommended is None:
            cell = "n/a"
        else:
            cell = _weight(recommended.mixture.get(d, 0.0), precise)
        cells.append((f"recommended {WEIGHT_PREFIX}{d}", cell))
    if precise:
        cells.append(
            (
                "predicted mean",
                _number(recommended.mean, True) if recommended else f"n/a ({why})",
            )
        )
        cells.append(("predicted std", _number(recommended.std, True) if recommended else ""))
    else:
        cells.append(
            (
                "predicted mean ± std",
                f"{_number(recommended.mean, False)} ± {_number(recommended.std, False)}"
                if recommended
                else f"n/a ({why})",
            )
        )
    return cells


def _recommend(view: StudyView) -> tuple[Predicted | None, str]:
    try:
        return fit_study(view).recommend(), ""
    except MixoptError as err:  # too few trials, a failed fit, an unknown surrogate
        return None, str(err)


def trial_results(view: StudyView, *, precise: bool) -> TextTable:
    """The table of `trials_table` (full-precision numbers when `precise`)."""
    done = completed(view.trials)
    skip = {view.objective, "objective"}  # both name the objective column's value
    metrics = sorted({m for r in done for m in r.metrics} - skip)
    header = (
        "trial",
        *(WEIGHT_PREFIX + d for d in view.domains),
        view.objective,
        *metrics,
    )
    rows = []
    for r in done:
        rows.append(
            (
                str(r.index),
                *(_weight(r.weights.get(d, 0.0), precise) for d in view.domains),
                _number(r.objective, precise),
                *(_number(r.metrics[m], precise) if m in r.metrics else "" for m in metrics),
            )
        )
    best = view.best_observed()
    bold = frozenset()
    if best is not None:
        row = next(i for i, r in enumerate(done) if r.index == best.index)
        bold = frozenset({(row, 1 + len(view.domains))})
    return TextTable(header=header, rows=tuple(rows), numeric=(True,) * len(header), bold=bold)


# ---- writing them ----------------------------------------------------------------------


def render(table: TextTable, fmt: Format) -> str:
    """`table` written in `fmt` (see `FORMATS`).

    Raises:
        MixoptError: an unknown `fmt`.
    """
    _check_format(fmt)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(table.header)
        writer.writerows(table.rows)
        return buf.getvalue()
    if fmt == "markdown":
        return _markdown(table)
    if fmt == "latex":
        return _latex(table)
    console = Console(
        file=io.StringIO(),
        width=TABLE_WIDTH,
        color_system=None,
        force_terminal=False,
        highlight=False,
    )
    console.print(to_rich(table))
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines()) + "\n"


def to_rich(table: TextTable) -> Table:
    """`table` as a `rich` Table (cells are plain text: no console markup is interpreted)."""
    out = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for title, numeric in zip(table.header, table.numeric, strict=True):
        out.add_column(Text(title), justify="right" if numeric else "left", no_wrap=True)
    for i, row in enumerate(table.rows):
        out.add_row(
            *(
                Text(cell, style="bold" if (i, j) in table.bold else "")
                for j, cell in enumerate(row)
            )
        )
    return out


def _markdown(table: TextTable) -> str:
    def cell(text: str, bold: bool = False) -> str:
        text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
        return f"**{text}**" if bold and text else text

    lines = ["| " + " | ".join(cell(h) for h in table.header) + " |"]
    lines.append("|" + "|".join("---:" if n else ":---" for n in table.numeric) + "|")
    for i, row in enumerate(table.rows):
        cells = (cell(c, (i, j) in table.bold) for j, c in enumerate(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _latex(table: TextTable) -> str:
    def cell(text: str, bold: bool = False) -> str:
        text = latex_escape(text.replace("\n", " "))
        return f"\\textbf{{{text}}}" if bold and text else text

    spec = "".join("r" if n else "l" for n in table.numeric)
    lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule"]
    lines.append(" & ".join(cell(h) for h in table.header) + " \\\\")
    lines.append("\\midrule")
    for i, row in enumerate(table.rows):
        lines.append(" & ".join(cell(c, (i, j) in table.bold) for j, c in enumerate(row)) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    """`text` with LaTeX's special characters escaped (``_`` -> ``\\_``, ``±`` -> ``$\\pm$``)."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise MixoptError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _number(value: float | None, precise: bool) -> str:
    if value is None:
        return ""
    value = float(value)
    if precise or not math.isfinite(value):
        return repr(value)
    return f"{value:.4g}"


def _weight(value: float, precise: bool) -> str:
    return repr(float(value)) if precise else f"{value:.3f}"
