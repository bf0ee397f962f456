"""`studies.cli.tables`: status/predict tables fit a terminal and never cut numbers or names."""

from __future__ import annotations

import io
import json
import re

import pytest

from studies.analysis import StudyView
from studies.cli import tables
from studies.cli.tables import Column, TextTable, print_table, status_table
from studies.trials import TrialRecord, TrialStatus

LONG = ("synthetic_counting", "synthetic_geometry", "synthetic_chart_reading",
        "synthetic_ocr", "synthetic_math_word_problems")
NOTE = "trainer died: CUDA out of memory while allocating 2.50 GiB on device 0 " * 3


def _view() -> StudyView:
    records = []
    for i in range(4):
        w = [0.0] * len(LONG)
        w[i % len(LONG)] = 0.6
        w[(i + 1) % len(LONG)] = 0.4
        failed = i == 3
        records.append(TrialRecord(
            index=i, attempt=0, weights=dict(zip(LONG, w, strict=True)),
            status=TrialStatus.FAILED if failed else TrialStatus.COMPLETED, run_id=f"r{i}",
            seed=i, metrics={}, objective=None if failed else 0.5 + 0.0123 * i,
            reason=NOTE if failed else "", source="design"))
    return StudyView(name="long-names", domains=LONG, objective="out_score", maximize=True,
                     surrogate="gp", trials=tuple(records))


def _printed(monkeypatch, width: int | None, *, wide: bool = False) -> str:
    monkeypatch.setattr(tables, "terminal_width", lambda file: width)
    out = io.StringIO()
    print_table(status_table(_view(), wide=wide), wide=wide, file=out)
    return out.getvalue()


def _cells_whole(text: str) -> None:
    assert "…" not in text
    for value in ("0.5000", "0.5123", "0.5246 *", "0.600", "0.400", "completed", "failed"):
        assert value in text, value


def test_off_a_terminal_nothing_is_cut_and_lines_pass_80(monkeypatch):
    text = _printed(monkeypatch, None)
    _cells_whole(text)
    for name in LONG:
        assert name in text
    assert max(len(line) for line in text.splitlines()) > 80
    assert all(line == line.rstrip() for line in text.splitlines())


@pytest.mark.parametrize("width", [100, 140])
def test_on_a_terminal_the_table_fits_and_numbers_stay_whole(monkeypatch, width):
    text = _printed(monkeypatch, width)
    assert max(len(line) for line in text.splitlines()) <= width
    _cells_whole(text)
    assert "CUDA" in text  # the note folds at its spaces


def test_a_terminal_too_narrow_for_the_numbers_gets_the_natural_width(monkeypatch):
    text = _printed(monkeypatch, 40)
    _cells_whole(text)
    assert max(len(line) for line in text.splitlines()) > 40


def test_notes_are_shortened_unless_wide(monkeypatch):
    short = _printed(monkeypatch, None)
    wide = _printed(monkeypatch, 100, wide=True)
    flat = re.sub(r"\s+", " ", wide)
    assert NOTE.strip() in flat  # whole, on one line of a natural-width table
    assert NOTE.strip() not in re.sub(r"\s+", " ", short)
    assert NOTE[: tables.NOTE_CHARS - 1].strip() in re.sub(r"\s+", " ", short)


def test_build_table_refuses_a_short_row():
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        TextTable("t", (Column("a", "number"), Column("b", "text")), (("1",),))


# ---- through the CLI, on a finished study ---------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from typer.testing import CliRunner

    from studies.cli import app
    from tests.studies.study_files import function_study

    path = function_study(tmp_path_factory.mktemp("tables"), max_trials=6)
    result = CliRunner().invoke(app, ["study", "run", str(path), "--poll-interval", "0.01"])
    assert result.exit_code == 0, result.output
    return path


def _cli(*argv: str):
    from typer.testing import CliRunner

    from studies.cli import app

    return CliRunner().invoke(app, list(argv))


def test_status_wide_and_plain_show_every_trial_whole(finished):
    for extra in ([], ["--wide"]):
        result = _cli("study", "status", str(finished), *extra)
        assert result.exit_code == 0, result.output
        assert "…" not in result.output and result.output.count("completed") == 6


def test_predict_says_how_many_trials_each_loo_refers_to(finished):
    data = json.loads(_cli("study", "predict", str(finished), "--json").output)
    assert data["trials"] == 6 and data["loo"]["trials"] == 6
    logged = data["logged_loo"]
    # The study logged LOO when it last proposed (trials 4 and 5), before all 6 completed.
    assert 3 <= logged["trials"] < 6 and logged["rmse"] > 0
    text = _cli("study", "predict", str(finished), "--wide").output
    assert "this fit: LOO over 6 trials: rmse" in text
    assert f"loo_* metrics last logged at step {logged['trials']} " in text
    assert "this fit has 6" in text


def test_compare_json_and_named_markdown_trials(finished):
    data = json.loads(_cli("study", "compare", str(finished), "--json", "--trials").output)
    (study,) = data["studies"]
    assert study["study"] == "unit" and study["trials_completed"] == 6
    assert len(study["completed_trials"]) == 6 and study["recommendation"]["weights"]
    md = _cli("study", "compare", str(finished), "--format", "markdown", "--trials").output
    assert "Study unit: completed trials, out\\_score maximized" in md
    both = _cli("study", "compare", str(finished), "--json", "--format", "csv")
    assert "--json and --format csv: give one of them" in str(both.exception)
    table = _cli("study", "compare", str(finished), "--trials")
    assert table.exit_code == 0 and "Study unit: completed trials" in table.output
