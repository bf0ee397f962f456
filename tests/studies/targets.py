"""Trial functions for study tests (the `function` launcher imports them by name)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from studies.examples.known_surface import quadratic_surface


def slow_surface(weights: Mapping[str, float], *, seed: int = 0) -> dict[str, float]:
    """The known surface, taking MIXOPT_TEST_DELAY seconds (default 0.3)."""
    time.sleep(float(os.environ.get("MIXOPT_TEST_DELAY", "0.3")))
    return quadratic_surface(weights, seed=seed)


def flaky_surface(weights: Mapping[str, float], *, seed: int = 0) -> dict[str, float]:
    """Raises on the first call for each mixture (state in MIXOPT_TEST_STATE folder)."""
    folder = Path(os.environ["MIXOPT_TEST_STATE"])
    key = folder / ("w" + "_".join(f"{weights[d]:.6f}" for d in sorted(weights)))
    if not key.exists():
        key.touch()
        raise RuntimeError("flaky first call")
    return quadratic_surface(weights, seed=seed)


def hangs_on_first(weights: Mapping[str, float], *, seed: int = 0) -> dict[str, float]:
    """Hangs (60 s) on the centroid, the first design point; fine elsewhere."""
    if abs(weights.get("alpha", 0.0) - 1 / 3) < 1e-6:
        time.sleep(60)
    return quadratic_surface(weights, seed=seed)


def always_fails(weights: Mapping[str, float], *, seed: int = 0) -> dict[str, float]:
    raise ValueError("this trial always fails")


def no_objective(weights: Mapping[str, float], *, seed: int = 0) -> dict[str, float]:
    return {"in_score": 0.5}


def not_a_dict(weights: Mapping[str, float], *, seed: int = 0) -> object:
    return [0.5]
