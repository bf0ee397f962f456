"""`mixopt bench` through typer's runner and, when installed, the console script."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studies.cli import app

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["bench", "--oracle", "quadratic,sparse", "--strategies", "random,reference",
        "--trials", "12", "--seeds", "2", "--json"]


def _check_json(text: str) -> None:
    data = json.loads(text)  # exactly one JSON object, nothing else on stdout
    assert data["metadata"]["oracles"] == ["quadratic", "sparse"]
    for strategy in ("random", "reference"):
        result = data["results"][strategy]
        assert len(result["median_normalized_regret"]) == 12
        assert len(result["q25_regret"]) == len(result["q75_regret"]) == 12


def test_json_output_parses():
    out = CliRunner().invoke(app, ARGS)
    assert out.exit_code == 0, out.output
    _check_json(out.stdout)


def test_table_and_plot(tmp_path):
    png = tmp_path / "regret.png"
    out = CliRunner().invoke(app, ["bench", "--oracle", "diminishing", "--strategies", "random",
                                   "--trials", "5", "--seeds", "1", "--plot", str(png)])
    assert out.exit_code == 0, out.output
    assert "random" in out.stdout
    assert png.read_bytes()[:4] == b"\x89PNG"


def _console_script() -> str | None:
    local = ROOT / ".venv" / "bin" / "mixopt"
    return str(local) if local.exists() else shutil.which("mixopt")


@pytest.mark.skipif(_console_script() is None, reason="console script mixopt is not installed")
def test_console_script_json_and_error():
    script = _console_script()
    ok = subprocess.run([script, *ARGS], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert ok.returncode == 0, ok.stderr
    _check_json(ok.stdout)
    bad = subprocess.run([script, "bench", "--oracle", "nope", "--trials", "3"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip().count("\n") == 0
    assert "unknown oracle 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--oracle", "nope"], "unknown oracle 'nope'"),
        (["--strategies", "random,magic"], "unknown strategy 'magic'"),
        (["--trials", "0"], "trials must be >= 1"),
    ],
)
def test_bad_input_is_one_red_line_and_exit_2(args, message, capsys):
    from studies.cli import main

    with pytest.raises(SystemExit) as info:
        main(["bench", "--strategies", "random", "--trials", "3", "--seeds", "1", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.strip().count("\n") == 0
    assert "Traceback" not in err
