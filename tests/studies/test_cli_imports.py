"""The commands that must answer at once (issue 16 section 2) import none of the libraries that
take seconds: `mixopt --help` and a config error no SciPy either, `study status` of a study in
a sqlite store neither MLflow nor SciPy; `--help` not `rlvr.domains` either (Pillow, the
loaders). Checked on `sys.modules` in a fresh process."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

from studies.config import load_study_config
from studies.driver import run_study
from studies.ledger import sqlite_path
from tests.studies.study_files import function_study
from tests.studies.test_cli_startup import PROBE

SLOW = ("torch", "transformers", "mlflow", "sqlalchemy", "scipy", "sklearn", "botorch",
        "pandas")


# What `--help` must not import besides: the option defaults it shows come from elsewhere
# (`rlvr.data_limits`), the domains are imported when a command runs.
NOT_FOR_HELP = (*SLOW, "rlvr.domains", "PIL")


def run_probed(argv: list[str], cwd, modules: tuple[str, ...] = SLOW
               ) -> tuple[int, str, list[str]]:
    """(exit code, output, the modules of `modules` imported) of `mixopt ARGV` in a new
    process."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=modules, argv=argv)],
                          capture_output=True, text=True, cwd=cwd, check=False, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    assert lines, done.stdout + done.stderr
    return done.returncode, done.stdout + done.stderr, json.loads(lines[-1][len("HEAVY="):])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("imports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIXOPT_TEST_DELAY", "0")
        path = function_study(tmp, max_trials=3, parallelism=1)
        run_study(load_study_config(path), poll_interval_s=0.01)
    return path


@pytest.mark.parametrize("argv", [["--help"], ["study", "--help"], ["bench", "--help"],
                                  ["study", "status", "--help"], ["study", "report", "--help"],
                                  ["eval", "--help"], ["train", "--help"], ["domains", "--help"]])
def test_help_imports_no_slow_library_nor_the_domains(argv, tmp_path):
    code, output, imported = run_probed(argv, tmp_path, NOT_FOR_HELP)
    assert code == 0 and "Usage" in output
    assert imported == []


def test_the_eval_help_shows_the_loaders_bad_record_limit(tmp_path):
    import inspect

    from rlvr.domains.loading import load_records

    limit = inspect.signature(load_records).parameters["max_bad_fraction"].default
    code, output, _ = run_probed(["eval", "--help"], tmp_path)
    assert code == 0 and "--max-bad-fraction" in output
    assert f"[default: {limit}]" in " ".join(output.replace("│", " ").split())


def test_a_config_error_imports_no_slow_library(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndomains: [a]\nsearch: {max_trials: -1}\n", encoding="utf-8")
    code, output, imported = run_probed(["study", "run", str(bad)], tmp_path)
    assert code == 2 and "max_trials" in output
    assert imported == []


def test_status_of_a_finished_study_imports_no_slow_library(finished, tmp_path):
    code, output, imported = run_probed(["study", "status", str(finished)], tmp_path)
    assert code == 0, output
    assert "study unit" in output and "completed" in output and "recommended mixture" in output
    assert imported == []


def test_status_of_a_store_that_lost_the_study_says_so_without_mlflow(finished, tmp_path):
    lost = tmp_path / "lost.db"  # the store with every run of the study deleted
    lost.write_bytes(sqlite_path(load_study_config(finished).tracking_uri).read_bytes())
    with closing(sqlite3.connect(lost)) as conn, conn:
        conn.execute("UPDATE runs SET lifecycle_stage = 'deleted'")
    code, output, imported = run_probed(
        ["study", "status", str(finished), "--tracking-uri", f"sqlite:///{lost}"], tmp_path)
    assert code == 2 and "knows no such study" in output and "study recover" in output
    assert imported == []


def test_report_imports_no_mlflow_and_a_kept_page_no_model_library(finished, tmp_path):
    drawing = ("mlflow", "sqlalchemy", "pandas", "torch", "botorch", "matplotlib")
    first, second = tmp_path / "first.html", tmp_path / "second.html"
    code, output, imported = run_probed(["study", "report", str(finished), "--out", str(first)],
                                        tmp_path, drawing)
    assert code == 0, output
    assert imported == ["botorch", "matplotlib", "torch"]  # drawn: the model and the figures
    code, output, imported = run_probed(["study", "report", str(finished), "--out", str(second)],
                                        tmp_path, (*drawing, *SLOW))
    assert code == 0, output
    assert imported == []  # the kept page (studies/cli/report_cache.py)
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
