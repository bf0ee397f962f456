"""Where a recommendation is printed (`study run`'s end, `study status`, `study predict`), the
± says what it is: the sd of a new training run of the mixture (model and noise together)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from studies.cli import app
from studies.cli.study import recommendation_lines
from tests.studies.study_files import function_study

NEW_RUN = "sd of a new training run"


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    path = function_study(tmp_path_factory.mktemp("rec"), max_trials=5)
    result = CliRunner().invoke(app, ["study", "run", str(path), "--poll-interval", "0.01"])
    assert result.exit_code == 0, result.output
    return path, result.output


def test_run_says_what_the_spread_of_the_recommendation_is(ran):
    _, output = ran
    line = next(x for x in output.splitlines() if x.startswith("recommended mixture"))
    assert " ± " in line
    assert NEW_RUN in output


def test_status_shows_the_last_recommendation_and_its_spread(ran):
    path, _ = ran
    text = CliRunner().invoke(app, ["study", "status", str(path)]).output
    assert "recommended mixture (predicted " in text and NEW_RUN in text
    data = json.loads(CliRunner().invoke(app, ["study", "status", str(path), "--json"]).output)
    rec = data["recommendation"]
    assert set(rec["weights"]) == {"alpha", "beta", "gamma"}
    assert rec["std"] > 0 and NEW_RUN in rec["std_is"]


def test_predict_says_what_its_std_is(ran):
    path, _ = ran
    result = CliRunner().invoke(app, ["study", "predict", str(path), "--top", "2"])
    assert result.exit_code == 0, result.output
    assert f"std: {NEW_RUN}" in result.output


def test_a_best_observed_recommendation_says_why_and_an_unknown_sd_is_named():
    lines = recommendation_lines({"weights": {"a": 1.0}, "mean": 0.5, "std": None,
                                  "rule": "best-observed", "reason": "LOO worse than the mean"})
    assert lines[0] == "recommended mixture (predicted 0.5000 (no sd known)): a=1.000"
    assert lines[1] == "  chosen as the best observed mixture: LOO worse than the mean"
    assert not any(NEW_RUN in line for line in lines)
