"""`mixopt study ...` and `mixopt ui` end to end (in-process, through the real `main`)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from studies.cli import app, main
from studies.config import load_study_config
from tests.studies.study_files import function_study


@pytest.fixture(scope="module")
def ran_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    path = function_study(tmp, max_trials=6)
    result = CliRunner().invoke(app, ["study", "run", str(path), "--poll-interval", "0.01"])
    assert result.exit_code == 0, result.output
    return path, result.output


def test_run_prints_the_recommendation_and_next_commands(ran_study):
    _, output = ran_study
    assert "recommended mixture" in output and "6 completed" in output
    assert "mixopt study report" in output
    # Not a terminal: plain progress lines (trials done, best, running, times) beside the bar.
    assert "study: trial 6/6 (100%), best " in output and "running [" in output


def test_status_json_shape(ran_study):
    path, _ = ran_study
    result = CliRunner().invoke(app, ["study", "status", str(path), "--json"])
    data = json.loads(result.output)
    assert data["study"] == "unit" and len(data["trials"]) == 6
    first = data["trials"][0]
    assert first["index"] == 0 and first["status"] == "completed"
    assert set(first["weights"]) == {"alpha", "beta", "gamma"}
    assert "out_score" in first["metrics"]
    assert data["best"]["objective"] == max(t["objective"] for t in data["trials"])


def test_status_by_name_in_the_store(ran_study):
    path, _ = ran_study
    uri = load_study_config(path).tracking_uri
    result = CliRunner().invoke(app, ["study", "status", "unit", "--tracking-uri", uri])
    assert result.exit_code == 0 and "completed" in result.output


def test_predict_json(ran_study):
    path, _ = ran_study
    result = CliRunner().invoke(app, ["study", "predict", str(path), "--top", "3", "--json"])
    data = json.loads(result.output)
    assert len(data["top"]) == 3
    assert data["top"][0]["mean"] >= data["top"][1]["mean"] - 1e-9
    assert abs(sum(data["top"][0]["weights"].values()) - 1) < 1e-9
    assert data["loo"]["rmse"] >= 0


def test_report_is_written_and_logged(ran_study, tmp_path):
    path, _ = ran_study
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["study", "report", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert 'id="plot-objective"' in out.read_text()


def test_compare_markdown(ran_study):
    path, _ = ran_study
    result = CliRunner().invoke(app, ["study", "compare", str(path), str(path), "--format",
                                      "markdown"])
    assert result.exit_code == 0, result.output
    assert "|" in result.output and "unit" in result.output


def test_ui_binds_localhost_by_default(ran_study):
    path, _ = ran_study
    result = CliRunner().invoke(app, ["ui", str(path), "--dry-run"])
    assert "mlflow server --backend-store-uri sqlite:///" in result.output
    assert "--host 127.0.0.1" in result.output and "--workers 1" in result.output


def test_errors_are_one_red_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["study", "status", str(tmp_path / "missing.yaml")])
    assert info.value.code == 2
    assert "no such study file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["study", "status", "nosuchstudy", "--tracking-uri",
              f"sqlite:///{tmp_path / 'x.db'}"])
    assert "no study named 'nosuchstudy'" in capsys.readouterr().err


def test_demo_shows_the_warm_start_progress_and_passes_the_base_steps(tmp_path, monkeypatch):
    import studies.cli.study as study_cli
    import studies.demo

    seen = {}

    def fake_prepare_demo(out, settings, on_base_step=None):
        seen["steps"] = settings.warm_start.steps
        losses = []
        for step in range(1, settings.warm_start.steps + 1):
            losses.append(1.0 / step)
            on_base_step(step, losses)
        return out / "demo.yaml"

    monkeypatch.setattr(studies.demo, "prepare_demo", fake_prepare_demo)
    monkeypatch.setattr(study_cli, "run_with_progress", lambda config: seen.update(ran=config))
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--base-steps", "20"])
    assert result.exit_code == 0, result.output
    assert seen == {"steps": 20, "ran": tmp_path / "demo.yaml"}
    assert "warm start" in result.output and "20/20" in result.output
    assert "loss 0.180" in result.output  # the mean of the (last 50) losses 1/1 .. 1/20
    # Fewer steps than the recipe's warm-up: the warm-up shrinks rather than the run failing.
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--base-steps", "5"])
    assert result.exit_code == 0, result.output
    assert seen["steps"] == 5 and "5/5" in result.output


def test_a_study_with_no_completed_trial_exits_non_zero(tmp_path):
    path = function_study(tmp_path, target="tests.studies.targets:always_fails", max_trials=2,
                          parallelism=1, max_retries=0)
    result = CliRunner().invoke(app, ["study", "run", str(path), "--poll-interval", "0.01"])
    assert result.exit_code == 1, result.output
    assert "no completed trial: 2 of 2" in result.output
    assert "this trial always fails" in result.output


def test_max_trials_0_is_refused_before_any_store(tmp_path):
    path = function_study(tmp_path)
    result = CliRunner().invoke(app, ["study", "run", str(path), "--max-trials", "0"])
    assert result.exit_code == 2 and "--max-trials" in result.output
    assert not (tmp_path / "runs" / "mlflow.db").exists()
