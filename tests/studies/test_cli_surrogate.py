"""`mixopt surrogate fit` end to end, through the installed entry point and in-process."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from studies.cli import app

DOMAINS = ("coco", "lisa", "geoqav", "sat")


def true_score(W: np.ndarray) -> np.ndarray:
    """A concave quadratic with its maximum at an interior mixture."""
    target = np.array([0.1, 0.4, 0.2, 0.3])
    return 0.5 - ((W - target) ** 2).sum(axis=1)


@pytest.fixture
def obs_csv(tmp_path):
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(len(DOMAINS)), size=14)
    W[:, -1] = 1.0 - W[:, :-1].sum(axis=1)  # exact sums after rounding to float text
    y = true_score(W) + rng.normal(0, 0.002, len(W))
    lines = [",".join([f"w.{d}" for d in DOMAINS] + ["out_score", "loss"])]
    for w, v in zip(W, y, strict=True):
        lines.append(",".join([repr(float(x)) for x in w] + [repr(float(v)), repr(float(-v))]))
    path = tmp_path / "obs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("model", ["gp", "scheffe", "quadsurface", "linear"])
def test_fit_json_has_the_documented_keys(obs_csv, model):
    result = run_cli("surrogate", "fit", str(obs_csv), "--objective", "out_score",
                     "--model", model, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"model", "recommended", "predicted_mean", "predicted_std", "loo",
            "n_observations"} <= set(report)
    assert report["model"] == model and report["n_observations"] == 14
    assert set(report["recommended"]) == set(DOMAINS)
    assert sum(report["recommended"].values()) == pytest.approx(1.0, abs=1e-6)
    assert min(report["recommended"].values()) >= 0
    assert set(report["loo"]) >= {"rmse", "spearman", "coverage90"}
    assert report["predicted_std"] >= 0


def test_gp_recommends_near_the_true_optimum_and_minimize_flips(obs_csv):
    report = json.loads(run_cli("surrogate", "fit", str(obs_csv), "--objective", "out_score",
                                "--json").stdout)
    w = np.array([report["recommended"][d] for d in DOMAINS])
    assert true_score(w[None])[0] > 0.5 - 0.02
    flipped = json.loads(run_cli("surrogate", "fit", str(obs_csv), "--objective", "loss",
                                 "--minimize", "--json").stdout)
    assert flipped["direction"] == "minimize"
    assert flipped["predicted_mean"] == pytest.approx(-report["predicted_mean"], rel=0.05)


def test_table_output_names_the_recommendation(obs_csv):
    result = run_cli("surrogate", "fit", str(obs_csv), "--objective", "out_score",
                     "--model", "scheffe")
    assert result.exit_code == 0
    assert "Recommended mixture" in result.stdout and "leave-one-out" in result.stdout


def entry_point() -> list[str]:
    exe = shutil.which("mixopt", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-c", "from studies.cli import main; main()"]


def test_user_mistakes_end_in_one_line_and_exit_code_2(tmp_path, obs_csv):
    bad = tmp_path / "bad.csv"
    bad.write_text("w.a,w.b,score\n0.5,0.7,1.0\n")
    cases = [
        ([str(bad), "--objective", "score"], "bad.csv, row 2"),
        ([str(obs_csv), "--objective", "nope"], "objective column 'nope' not found"),
        ([str(obs_csv), "--objective", "out_score", "--model", "forest"],
         "unknown surrogate 'forest'"),
        ([str(tmp_path / "missing.csv"), "--objective", "y"], "file not found"),
    ]
    for args, expected in cases:
        proc = subprocess.run([*entry_point(), "surrogate", "fit", *args],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert expected in proc.stderr
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_too_few_observations_is_a_clear_error(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("w.a,w.b,w.c,y\n1,0,0,0.3\n0,1,0,0.4\n")
    proc = subprocess.run([*entry_point(), "surrogate", "fit", str(path), "--objective", "y",
                           "--model", "quadsurface"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "needs at least" in proc.stderr and "Traceback" not in proc.stderr
