"""The `mixopt` CLI starts without the heavy libraries: they are imported by the commands that
use them (issue 15 item 12). Checked on `sys.modules` in a fresh process, not by timing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mixopt.errors import MixoptError
from studies.cli.rlvr_errors import as_mixopt_errors

HEAVY = ("torch", "transformers", "trl", "botorch", "gpytorch", "mlflow", "sklearn",
         "datasets", "matplotlib", "evaluators")

# Runs argv through the entry point and prints, at exit, which heavy modules were imported.
PROBE = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: print("HEAVY=" + json.dumps(sorted(m for m in heavy if m in sys.modules))))
from studies.cli import main
main({argv!r})
"""


def heavy_modules_after(argv: list[str], cwd) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, argv=argv)],
                          capture_output=True, text=True, cwd=cwd, check=False, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    assert lines, done.stdout + done.stderr
    return json.loads(lines[-1][len("HEAVY="):])


def test_importing_the_cli_imports_no_heavy_library(tmp_path):
    code = ("import json, sys; import studies.cli; "
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, check=True, timeout=120)
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize("argv", [
    ["--help"], ["study", "--help"], ["train", "--help"], ["eval", "--help"],
    ["bench", "--help"], ["surrogate", "--help"], ["domains", "--help"],
])
def test_help_imports_no_heavy_library(argv, tmp_path):
    assert heavy_modules_after(argv, tmp_path) == []


def test_a_config_error_imports_no_heavy_library(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndomains: [a]\nlauncher: {kind: nope}\n", encoding="utf-8")
    assert heavy_modules_after(["study", "run", str(bad)], tmp_path) == []


def test_model_and_training_errors_are_still_one_line_once_imported():
    from rlvr.models.loading import ModelLoadError
    from rlvr.training.errors import TrainingError

    for error in (ModelLoadError("no such model\nsecond line"), TrainingError("out of memory")):
        with pytest.raises(MixoptError) as info, as_mixopt_errors():
            raise error
        assert "\n" not in str(info.value)
    with pytest.raises(KeyError), as_mixopt_errors():  # a bug still raises as itself
        raise KeyError("bug")
