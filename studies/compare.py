"""Studies side by side, and one study's per-trial results, as text.

Formats: ``"table"`` (the terminal, through `rich`), ``"markdown"``, ``"latex"`` (a booktabs
``tabular``) and ``"csv"``. CSV keeps numbers at full precision; a study's per-trial CSV has
``w.<domain>`` weight columns and can be read back by ``mixopt.observations.read_csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mixopt.errors import MixoptError
from studies.analysis import Predicted, StudyView, fit_study
from studies.number_format import format_column
from studies.trials import TrialRecord, TrialStatus, completed, latest_attempts

Format = Literal["table", "markdown", "latex", "csv"]
FORMATS: tuple[str, ...] = get_args(Format)
WEIGHT_PREFIX = "w."  # as in `mixopt.observations`

# Terminal width for "table": wide enough that rich never wraps a cell (tables are not
# expanded, so they keep their natural width).
TABLE_WIDTH = 1000

_MARKDOWN_SPECIAL = set("\\`*_[]<>|")

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
    the table, Markdown and LaTeX. Each names its study: a first line (`trials_caption`; a
    ``%`` comment in LaTeX), or in CSV a first column ``study``.

    Raises:
        MixoptError: an unknown `fmt`.
    """
    _check_format(fmt)
    text = render(trial_results(view, precise=fmt == "csv"), fmt)
    if fmt == "csv":
        return text
    caption = trials_caption(view)
    if fmt == "latex":
        return f"% {' '.join(caption.splitlines())}\n{text}"
    if fmt == "markdown":
        return f"{_markdown_text(caption)}\n\n{text}"
    return f"{caption}\n{text}"


def trials_caption(view: StudyView) -> str:
    """``Study NAME: completed trials, OBJECTIVE maximized (best in bold)``."""
    direction = "maximized" if view.maximize else "minimized"
    return f"Study {view.name}: completed trials, {view.objective} {direction} (best in bold)"


def trials_table_rich(view: StudyView) -> Table:
    """`trials_table` as a `rich` table, for a console to print in colour."""
    return to_rich(trial_results(view, precise=False))


def compare_json(views: Sequence[StudyView], *, trials: bool = False) -> dict[str, Any]:
    """`views` side by side as JSON: per study its objective, direction, surrogate, trial
    counts, best completed trial and recommendation (None, with ``no_recommendation`` saying
    why, when the surrogate cannot be fitted); with `trials`, every completed trial.

    Raises:
        MixoptError: no study.
    """
    if not views:
        raise MixoptError("no study to compare")
    out = []
    for view in views:
        latest = latest_attempts(view.trials)
        best = view.best_observed()
        recommended, why = _recommend(view)
        entry: dict[str, Any] = {
            "study": view.name, "objective": view.objective,
            "direction": "maximize" if view.maximize else "minimize",
            "surrogate": view.surrogate,
            "trials_completed": len(completed(view.trials)),
            "trials_failed": sum(r.status in (TrialStatus.FAILED, TrialStatus.ABANDONED)
                                 for r in latest),
            "trials_total": len(latest),
            "best": None if best is None else best.to_json(),
            "recommendation": None if recommended is None else recommended.to_json(),
            "no_recommendation": why or None,
        }
        if trials:
            entry["completed_trials"] = [r.to_json() for r in completed(view.trials)]
        out.append(entry)
    return {"studies": out}


# ---- building the tables ---------------------------------------------------------------


def compare_table(views: Sequence[StudyView], *, precise: bool) -> TextTable:
    """The table of `compare_studies` (full-precision numbers and a two-row prediction when
    `precise`)."""
    if not views:
        raise MixoptError("no study to compare")
    domains: list[str] = []
    for view in views:
        domains += [d for d in view.domains if d not in domains]
    studies = [(view, view.best_observed(), *_recommend(view)) for view in views]
    # The numbers of a row, written alike across the studies (full precision in CSV).
    write = (lambda values: [_exact(v) for v in values]) if precise else format_column
    best = write([b.objective if b else None for _, b, _, _ in studies])
    mean = write([rec.mean if rec else None for _, _, rec, _ in studies])
    std = write([rec.std if rec else None for _, _, rec, _ in studies])
    columns = [_study_column(view, domains, precise, best[i], mean[i], std[i], found, rec, why)
               for i, (view, found, rec, why) in enumerate(studies)]
    labels = [label for label, _ in columns[0]]
    rows = tuple((label, *(column[i][1] for column in columns)) for i, label in enumerate(labels))
    return TextTable(
        header=("", *(view.name for view in views)),
        rows=rows,
        numeric=(False, *([True] * len(views))),
    )


def _study_column(
    view: StudyView, domains: Sequence[str], precise: bool, best_text: str, mean_text: str,
    std_text: str, best: TrialRecord | None, recommended: Predicted | None, why: str,
) -> list[tuple[str, str]]:
    """(row label, cell) pairs of one study's column; its numbers come written (`*_text`)."""
    latest = latest_attempts(view.trials)
    n_done = len(completed(view.trials))
    n_failed = sum(r.status in (TrialStatus.FAILED, TrialStatus.ABANDONED) for r in latest)
    cells = [
        ("objective", f"{view.objective} ({'max' if view.maximize else 'min'})"),
        ("best observed", best_text if best else "n/a (no completed trial)"),
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
        cells.append(("predicted mean", mean_text if recommended else f"n/a ({why})"))
        cells.append(("predicted std", std_text if recommended else ""))
    else:
        cells.append(("predicted mean ± std",
                      f"{mean_text} ± {std_text}" if recommended else f"n/a ({why})"))
    return cells


def _recommend(view: StudyView) -> tuple[Predicted | None, str]:
    try:
        return fit_study(view).recommend(), ""
    except MixoptError as err:  # too few trials, a failed fit, an unknown surrogate
        return None, str(err)


def trial_results(view: StudyView, *, precise: bool) -> TextTable:
    """The table of `trials_table` (full-precision numbers and a first ``study`` column when
    `precise`; otherwise each column's numbers with the same decimals, `format_column`)."""
    done = completed(view.trials)
    skip = {view.objective, "objective"}  # both name the objective column's value
    metrics = sorted({m for r in done for m in r.metrics} - skip)
    lead = ("study",) if precise else ()
    header = (
        *lead,
        "trial",
        *(WEIGHT_PREFIX + d for d in view.domains),
        view.objective,
        *metrics,
    )
    values = [[r.objective for r in done]]
    values += [[r.metrics.get(m) for r in done] for m in metrics]
    if precise:
        cells = [[_exact(v) for v in column] for column in values]
    else:
        cells = [format_column(column) for column in values]
    rows = []
    for i, r in enumerate(done):
        rows.append(
            (
                *((view.name,) if precise else ()),
                str(r.index),
                *(_weight(r.weights.get(d, 0.0), precise) for d in view.domains),
                *(column[i] for column in cells),
            )
        )
    best = view.best_observed()
    bold = frozenset()
    if best is not None:
        row = next(i for i, r in enumerate(done) if r.index == best.index)
        bold = frozenset({(row, len(lead) + 1 + len(view.domains))})
    numeric = (*((False,) if precise else ()), *(True,) * (len(header) - len(lead)))
    return TextTable(header=header, rows=tuple(rows), numeric=numeric, bold=bold)


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


def _markdown_text(text: str) -> str:
    """`text` as literal Markdown (its markup characters escaped, on one line)."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text.replace("\n", " "))


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


def _exact(value: float | None) -> str:
    """`value` at full precision (CSV), ``""`` for None."""
    return "" if value is None else repr(float(value))


def _weight(value: float, precise: bool) -> str:
    return repr(float(value)) if precise else f"{value:.3f}"
