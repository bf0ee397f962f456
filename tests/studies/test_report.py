"""`studies.report`: the HTML report, checked as a browser shows it."""

from __future__ import annotations

import re

import numpy as np
import pytest

from studies.analysis import StudyView
from studies.report import build_report_html, render_report
from studies.trials import TrialRecord, TrialStatus

from .conftest import DOMAINS, TARGET, make_record, true_score

PLOTS = ("plot-objective", "plot-loo", "plot-effects", "plot-interactions")


def open_page(browser, path):
    browser.get_log("browser")  # drop entries of earlier pages
    browser.get(path.as_uri())
    return browser.get_log("browser")


def decoded_width(browser, plot_id):
    """naturalWidth of the plot's image once the browser has decoded it (0 if it could not)."""
    img = browser.find_element("css selector", f"#{plot_id} img")
    return browser.execute_script(
        "const img = arguments[0]; return img.complete ? img.naturalWidth : 0;", img
    )


def severe(log):
    return [entry for entry in log if entry["level"] == "SEVERE"]


@pytest.fixture(scope="module")
def full_report(make_view, tmp_path_factory):
    view = make_view()
    out = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    return view, render_report(view, out)


def test_full_report_in_a_headless_browser(browser, full_report):
    view, path = full_report
    log = open_page(browser, path)
    assert browser.title == "mixopt study quad"
    assert not severe(log), severe(log)
    for plot_id in PLOTS:
        assert decoded_width(browser, plot_id) > 0, plot_id
        img = browser.find_element("css selector", f"#{plot_id} img")
        assert img.size["width"] > 0 and img.size["height"] > 0, plot_id
    rows = browser.find_elements("css selector", "#table-trials tbody tr")
    assert len(rows) == len(view.trials) == 13  # every attempt, the retry of trial 3 included
    assert len(browser.find_elements("css selector", "#table-trials tr.status-failed")) == 2
    assert len(browser.find_elements("css selector", "#table-trials tr.status-running")) == 1
    assert "CUDA out of memory" in browser.find_element("id", "table-trials").text


def test_recommendation_is_a_mixture_near_the_optimum(browser, full_report):
    view, path = full_report
    open_page(browser, path)
    cells = browser.find_elements("css selector", "#recommendation td.rec-weight")
    assert [c.get_attribute("data-domain") for c in cells] == list(DOMAINS)
    shown = np.array([float(c.text) for c in cells])
    exact = np.array([float(c.get_attribute("data-weight")) for c in cells])
    assert shown.sum() == pytest.approx(1.0, abs=2e-3)
    assert exact.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.abs(exact - TARGET).max() < 0.1
    predicted = browser.find_element("id", "rec-predicted").text
    assert "±" in predicted and "predicted" in predicted
    best = view.best_observed()
    header = browser.find_element("css selector", "#table-recommendation thead").text
    assert f"best observed (trial {best.index})" in header


def test_loo_section_says_what_it_shows(browser, full_report):
    _, path = full_report
    open_page(browser, path)
    caption = browser.find_element("css selector", "#plot-loo figcaption").text
    assert "Leave-one-out predictions" in caption and "90%" in caption
    summary = browser.find_element("id", "loo-summary").text
    assert summary.startswith("LOO over 10 points: rmse")
    header = browser.find_element("id", "summary").text
    assert "out_score (maximized)" in header and "alpha, beta, gamma" in header
    counts = {
        td.get_attribute("data-status"): int(td.text)
        for td in browser.find_elements("css selector", "#table-status td")
    }
    assert counts == {"queued": 0, "running": 1, "completed": 10, "failed": 1, "abandoned": 0,
                      "stopped_early": 0}


def test_page_is_self_contained_and_written_atomically(full_report):
    view, path = full_report
    page = path.read_text(encoding="utf-8")
    assert "://" not in page  # no external URL, not even the SVG namespace
    assert "<script" not in page.lower()
    assert page.count('src="data:image/png;base64,') == len(PLOTS)
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temp file left
    assert render_report(view, path) == path  # replaces the page
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]


def test_too_few_trials_render_what_they_can(browser, make_view, tmp_path):
    W = np.array([[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]])
    trials = (
        make_record(0, W[0], objective=float(true_score(W[0])[0])),
        make_record(1, W[1], TrialStatus.FAILED, reason="OOM"),
    )
    path = render_report(make_view(trials), tmp_path / "report.html")
    log = open_page(browser, path)
    assert not severe(log), severe(log)
    assert decoded_width(browser, "plot-objective") > 0
    for plot_id in PLOTS[1:]:
        assert not browser.find_elements("id", plot_id), plot_id
    notice = browser.find_element("id", "model-missing").text
    assert "missing" in notice and "needs at least 2" in notice
    assert not browser.find_elements("css selector", "td.rec-weight")
    assert "best observed (trial 0)" in browser.find_element("id", "recommendation").text
    assert len(browser.find_elements("css selector", "#table-trials tbody tr")) == 2


def test_no_completed_trial_and_an_unknown_surrogate(make_view):
    trials = (make_record(0, np.array([1.0, 0.0, 0.0]), TrialStatus.RUNNING),)
    page = build_report_html(make_view(trials))
    assert "No completed trial yet" in page and 'id="model-missing"' in page
    page = build_report_html(make_view(surrogate="no-such-model"))
    assert "unknown surrogate &#x27;no-such-model&#x27;" in page
    assert 'id="plot-objective"' in page and 'id="plot-loo"' not in page


def test_user_text_is_escaped(browser, make_view, tmp_path):
    name = "<script>alert(1)</script>"
    reason = '<img src=x onerror="alert(2)"> & more'
    trials = (
        *make_view().trials[:4],
        make_record(9, np.array([0.0, 0.0, 1.0]), TrialStatus.FAILED, reason=reason),
    )
    path = render_report(make_view(trials, name=name), tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    log = open_page(browser, path)
    assert not severe(log), severe(log)
    assert browser.title == f"mixopt study {name}"
    assert browser.find_element("tag name", "h1").text == f"Study {name}"
    assert reason in browser.find_element("id", "table-trials").text
    assert browser.execute_script("return document.scripts.length") == 0
    assert len(browser.find_elements("css selector", "img")) == len(PLOTS)


def test_minimized_objective(make_view):
    view = make_view(maximize=False)
    page = build_report_html(view)
    best = view.best_observed()
    assert best.objective == min(r.objective for r in view.trials if r.objective is not None)
    assert f"best observed (trial {best.index})" in page
    assert "out_score (minimized)" in page
    weights = [float(w) for w in re.findall(r'class="rec-weight"[^>]*data-weight="([^"]+)"', page)]
    assert sum(weights) == pytest.approx(1.0) and np.abs(np.array(weights) - TARGET).max() < 0.1


def test_one_domain_study():
    # effect_curves used to divide by zero here (no other domain to blend in).
    trials = tuple(
        TrialRecord(
            i, 0, {"solo": 1.0}, TrialStatus.COMPLETED, f"r{i}", i, objective=0.5 + 0.01 * i
        )
        for i in range(4)
    )
    view = StudyView("one", ("solo",), "out_score", True, "gp", trials)
    page = build_report_html(view)
    assert 'id="plot-effects"' in page and "One domain: no pairs" in page
    assert 'id="model-missing"' not in page
