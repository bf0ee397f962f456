"""`studies.compare`: studies side by side and per-trial tables in four formats."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
from rich.table import Table

from mixopt.errors import MixoptError
from mixopt.observations import read_csv
from studies.compare import (
    FORMATS,
    compare_studies,
    compare_studies_rich,
    latex_escape,
    trials_table,
    trials_table_rich,
)
from studies.trials import TrialStatus

from .conftest import DOMAINS, TARGET, make_record


@pytest.fixture(scope="module")
def full(make_view):
    return make_view(name="study_a")


@pytest.fixture(scope="module")
def too_few(make_view):
    trials = (
        make_record(0, np.array([0.2, 0.5, 0.3]), objective=0.5, metrics={"objective": 0.5}),
        make_record(1, np.array([1.0, 0.0, 0.0]), TrialStatus.ABANDONED, reason="gave up"),
    )
    return make_view(trials, name="b|[bold]c[/bold]")


@pytest.fixture(scope="module")
def compared_csv(full, too_few):
    text = compare_studies([full, too_few], "csv")
    return {row[0]: row[1:] for row in csv.reader(io.StringIO(text))}


def test_csv_comparison_has_full_precision_numbers(full, too_few, compared_csv):
    table = compared_csv
    assert table[""] == [full.name, too_few.name]
    best = full.best_observed()
    assert float(table["best observed"][0]) == best.objective
    assert table["best trial"] == [str(best.index), "0"]
    assert table["trials completed/failed/total"] == ["10/1/12", "1/1/2"]
    weights = np.array([float(table[f"recommended w.{d}"][0]) for d in DOMAINS])
    assert weights.sum() == pytest.approx(1.0)
    assert np.abs(weights - TARGET).max() < 0.1
    assert float(table["predicted mean"][0]) == pytest.approx(0.8, abs=0.05)
    assert float(table["predicted std"][0]) > 0
    assert table["recommended w.alpha"][1] == "n/a"
    assert table["predicted mean"][1].startswith("n/a (")
    assert "needs at least 2" in table["predicted mean"][1]


def test_terminal_table_is_plain_text(full, too_few):
    text = compare_studies([full, too_few], "table")
    assert "\x1b" not in text  # no colour codes in the string
    assert "b|[bold]c[/bold]" in text  # names are text, not console markup
    assert "predicted mean ± std" in text and " ± " in text
    assert re.search(r"n/a \(study .* needs at least 2\)", text)
    assert isinstance(compare_studies_rich([full]), Table)


def test_markdown_and_latex(full, too_few):
    md = compare_studies([full, too_few], "markdown").splitlines()
    assert md[0] == r"|  | study_a | b\|[bold]c[/bold] |"
    assert md[1] == "|:---|---:|---:|"
    assert all(line.count("|") - line.count(r"\|") == 4 for line in md)
    tex = compare_studies([full, too_few], "latex")
    assert tex.startswith("\\begin{tabular}{lrr}\n\\toprule\n")
    assert "\\midrule" in tex and tex.endswith("\\bottomrule\n\\end{tabular}\n")
    assert "study\\_a" in tex and "b\\textbar{}[bold]c[/bold]" in tex
    assert not re.search(r"(?<!\\)_", tex)  # every underscore escaped
    assert "$\\pm$" in tex


def test_unknown_format_and_no_study(full):
    with pytest.raises(MixoptError, match="unknown format 'html'; choose one of table"):
        compare_studies([full], "html")  # type: ignore[arg-type]
    with pytest.raises(MixoptError, match="unknown format"):
        trials_table(full, "xlsx")  # type: ignore[arg-type]
    with pytest.raises(MixoptError, match="no study"):
        compare_studies([], "csv")


def test_minimized_study_reports_its_lowest_value(make_view):
    view = make_view(maximize=False)
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(compare_studies([view], "csv")))}
    values = [r.objective for r in view.trials if r.objective is not None]
    assert float(rows["best observed"][0]) == min(values)
    assert rows["objective"] == ["out_score (min)"]


def test_trials_csv_reads_back_as_observations(full, tmp_path):
    path = tmp_path / "trials.csv"
    path.write_text(trials_table(full, "csv"))
    obs = read_csv(path, ["out_score"], domains=DOMAINS)
    X, y = full.observations()
    np.testing.assert_array_equal(obs.X, X)
    np.testing.assert_array_equal(obs.objective("out_score"), y)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == [
        "study",
        "trial",
        "w.alpha",
        "w.beta",
        "w.gamma",
        "out_score",
        "chart_qa",
        "in_score",
    ]
    assert [int(r["trial"]) for r in rows] == list(range(10))  # completed trials only
    assert {r["study"] for r in rows} == {full.name}
    assert rows[1]["chart_qa"] == "" and float(rows[2]["chart_qa"]) == pytest.approx(0.27)


def test_trials_table_marks_the_best_trial(full):
    best = full.best_observed()
    md = trials_table(full, "markdown").splitlines()[2:]  # after the caption and a blank line
    assert len(md) == 2 + 10
    bold = [line for line in md if "**" in line]
    assert len(bold) == 1 and bold[0].startswith(f"| {best.index} |")
    tex = trials_table(full, "latex")
    assert tex.count("\\textbf{") == 1 and "chart\\_qa & in\\_score" in tex
    text = trials_table(full, "table")
    assert "out_score" in text and len(text.strip().splitlines()) == 1 + 2 + 10
    assert isinstance(trials_table_rich(full), Table)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_study_without_completed_trials(make_view, fmt):
    view = make_view((make_record(0, np.array([1.0, 0.0, 0.0]), TrialStatus.RUNNING),))
    assert "trial" in trials_table(view, fmt)
    assert "n/a (no completed trial)" in compare_studies([view], fmt)


def test_latex_escape():
    assert latex_escape(r"a_b & 50% #1 {x} ~ ^ \ | < > ±") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{} "
        r"\textbar{} \textless{} \textgreater{} $\pm$"
    )


def test_trials_tables_name_their_study(full, too_few):
    md = trials_table(too_few, "markdown").splitlines()
    assert md[0] == (r"Study b\|\[bold\]c\[/bold\]: completed trials, out\_score maximized "
                     "(best in bold)")
    assert md[1] == "" and md[2].startswith("| trial |")
    tex = trials_table(full, "latex").splitlines()
    assert tex[0] == "% Study study_a: completed trials, out_score maximized (best in bold)"
    assert tex[1].startswith("\\begin{tabular}")
    assert trials_table(full, "table").splitlines()[0].startswith("Study study_a: ")
    rows = list(csv.DictReader(io.StringIO(trials_table(too_few, "csv"))))
    assert [r["study"] for r in rows] == [too_few.name]


def test_trial_numbers_are_written_with_even_decimals(make_view):
    trials = tuple(make_record(i, w, objective=y, metrics={"loss": loss})
                   for i, (w, y, loss) in enumerate([
                       (np.array([0.2, 0.5, 0.3]), 0.53, 1.5),
                       (np.array([1.0, 0.0, 0.0]), 0.5312, 0.25),
                       (np.array([0.0, 1.0, 0.0]), 0.5, 12.0)]))
    md = trials_table(make_view(trials, name="even"), "markdown").splitlines()[4:]
    cells = [[c.strip().strip("*") for c in line.strip("|").split("|")] for line in md]
    assert [row[4] for row in cells] == ["0.5300", "0.5312", "0.5000"]  # not 0.53, 0.5312, 0.5
    assert [row[5] for row in cells] == ["1.50", "0.25", "12.00"]


def test_a_comparison_row_is_written_alike_across_studies(make_view):
    small = tuple(make_record(i, w, objective=y) for i, (w, y) in enumerate([
        (np.array([0.2, 0.5, 0.3]), 0.5), (np.array([1.0, 0.0, 0.0]), 0.25)]))
    large = tuple(make_record(i, w, objective=y) for i, (w, y) in enumerate([
        (np.array([0.2, 0.5, 0.3]), 0.125), (np.array([1.0, 0.0, 0.0]), 0.03125)]))
    views = [make_view(small, name="s", surrogate="linear"),
             make_view(large, name="l", surrogate="linear")]
    md = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
          for line in compare_studies(views, "markdown").splitlines()[2:]}
    assert md["best observed"] == ["0.5000", "0.1250"]
