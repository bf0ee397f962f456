"""Writing small study configs for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def function_study(tmp_path: Path, target: str = "tests.studies.targets:slow_surface",
                   **search: Any) -> Path:
    """A 3-domain `function` study config in `tmp_path`; `search` overrides search keys."""
    config = {
        "name": "unit",
        "domains": ["alpha", "beta", "gamma"],
        "search": {"initial_design": {"kind": "centroid+sobol", "n": 4}, "batch_size": 2,
                   "parallelism": 2, "max_trials": 8, "seed": 0, **search},
        "eval": {"objective": {"metric": "out_score"}},
        "launcher": {"kind": "function", "target": target},
        "workdir": str(tmp_path / "runs"),
    }
    path = tmp_path / "study.yaml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def two_function_studies(tmp_path: Path, **search: Any) -> tuple[Path, Path]:
    """Configs of function studies ``unit`` (study.yaml) and ``other`` (other.yaml) in one
    workdir (``tmp_path/runs``)."""
    first = function_study(tmp_path, **search)
    data = yaml.safe_load(first.read_text())
    data["name"] = "other"
    second = tmp_path / "other.yaml"
    second.write_text(yaml.safe_dump(data), encoding="utf-8")
    return first, second


FAKE_MIXOPT = Path(__file__).parent / "assets" / "fake_mixopt.py"


def local_study(tmp_path: Path, launcher: dict[str, Any] | None = None, **search: Any) -> Path:
    """A 3-domain study of real registry domains whose `mixopt` is the fake in assets/."""
    import sys

    config = {
        "name": "local-unit",
        "domains": ["lisa", "sat", "scienceqa"],
        "search": {"initial_design": {"kind": "centroid+sobol", "n": 3}, "batch_size": 2,
                   "parallelism": 2, "max_trials": 4, "seed": 0, **search},
        "train": {"model": "tiny-model", "budget": 12},
        "eval": {"benchmarks": ["lisa"], "objective": {"metric": "in_score"}},
        "launcher": launcher or {"kind": "local", "gpus_per_trial": 0,
                                 "mixopt_command": [sys.executable, str(FAKE_MIXOPT)]},
        "workdir": str(tmp_path / "runs"),
    }
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
