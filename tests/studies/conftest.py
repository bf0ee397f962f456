"""Shared fixtures of the `studies` tests: a headless browser, and studies on a known surface.

`browser` is Debian's chromium driven by its chromedriver through selenium. Without them the
tests that need it are skipped, unless ``MIXOPT_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from studies.analysis import StudyView
from studies.trials import TrialRecord, TrialStatus

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

DOMAINS = ("alpha", "beta", "gamma")
TARGET = np.array([0.2, 0.5, 0.3])  # the maximum of `true_score`, an interior mixture


def true_score(W: np.ndarray) -> np.ndarray:
    """A concave quadratic over `W: n x 3` mixtures, maximal (0.8) at `TARGET`."""
    return 0.8 - ((np.atleast_2d(W) - TARGET) ** 2).sum(axis=1)


def _no_browser(reason: str) -> None:
    if os.environ.get("MIXOPT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (MIXOPT_REQUIRE_BROWSER=1 requires the browser)")
    pytest.skip(f"{reason}; install with: apt-get install -y chromium chromium-driver")


@pytest.fixture(scope="session")
def browser(tmp_path_factory) -> Iterator[object]:
    """A headless chromium (selenium WebDriver) with its browser console log recorded.

    Read ``browser.get_log("browser")`` right after a page to get that page's entries.
    """
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _no_browser("selenium is not installed (pip install -e '.[dev]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            _no_browser(f"{path} not found")
    options = webdriver.ChromeOptions()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1280,1600")
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    except WebDriverException as err:
        _no_browser(f"chromium did not start: {str(err).strip().splitlines()[0]}")
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def make_record(
    index: int,
    weights: np.ndarray,
    status: TrialStatus = TrialStatus.COMPLETED,
    *,
    attempt: int = 0,
    objective: float | None = None,
    reason: str = "",
    metrics: dict[str, float] | None = None,
    source: str = "design",
) -> TrialRecord:
    return TrialRecord(
        index=index,
        attempt=attempt,
        weights={d: float(w) for d, w in zip(DOMAINS, weights, strict=True)},
        status=status,
        run_id=f"run-{index}-{attempt}",
        seed=100 + index,
        metrics=metrics or {},
        objective=objective,
        reason=reason,
        source=source,
    )


def quadratic_trials(n_completed: int = 10, *, maximize: bool = True) -> tuple[TrialRecord, ...]:
    """`n_completed` completed trials on `true_score` (negated when not `maximize`), trial 3
    retried after a failed first attempt, then a failed and a running trial.

    With the default: 13 attempts of 12 trials (10 completed, 1 failed, 1 running).
    """
    rng = np.random.default_rng(7)
    W = rng.dirichlet(np.ones(len(DOMAINS)), size=n_completed + 2)
    y = true_score(W) * (1.0 if maximize else -1.0)
    records = []
    for i in range(n_completed):
        if i == 3:
            records.append(make_record(i, W[i], TrialStatus.FAILED, reason="node lost"))
        metrics = {"objective": float(y[i]), "in_score": float(y[i]) / 2}
        if i % 2 == 0:  # a metric only some trials have
            metrics["chart_qa"] = 0.25 + 0.01 * i
        records.append(
            make_record(
                i,
                W[i],
                attempt=1 if i == 3 else 0,
                objective=float(y[i]),
                metrics=metrics,
                source="design" if i < 6 else "proposal",
            )
        )
    records.append(make_record(n_completed, W[-2], TrialStatus.FAILED, reason="CUDA out of memory"))
    records.append(make_record(n_completed + 1, W[-1], TrialStatus.RUNNING))
    return tuple(records)


@pytest.fixture(scope="session")
def make_view() -> Callable[..., StudyView]:
    """Build a `StudyView` over `DOMAINS` (objective ``out_score``, surrogate ``gp``)."""

    def build(
        trials: tuple[TrialRecord, ...] | None = None,
        *,
        name: str = "quad",
        maximize: bool = True,
        surrogate: str = "gp",
    ) -> StudyView:
        return StudyView(
            name=name,
            domains=DOMAINS,
            objective="out_score",
            maximize=maximize,
            surrogate=surrogate,
            trials=quadratic_trials(maximize=maximize) if trials is None else trials,
            seed=3,
            parent_run_id="parent-run",
        )

    return build
