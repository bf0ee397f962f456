"""`study report` keeps its page keyed by the whole study view and the code: a second report
of an unchanged study draws nothing, any change to what the page is drawn from draws afresh,
and the kept page is the page a fresh drawing gives (byte for byte)."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from studies import report
from studies.cli import app, predict_cache, report_cache
from studies.config import load_study_config
from studies.opening import read_study
from studies.trials import TrialStatus
from tests.studies.study_files import function_study


def _run(path, *extra):
    result = CliRunner().invoke(app, ["study", "run", str(path), "--poll-interval", "0.01",
                                      *extra])
    assert result.exit_code == 0, result.output


def _finished_study(folder):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIXOPT_TEST_DELAY", "0")
        path = function_study(folder, max_trials=5)
        _run(path)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return _finished_study(tmp_path_factory.mktemp("report-cache"))


@pytest.fixture()
def growing(tmp_path):
    """A finished study of its own, for a test that adds a trial to it."""
    return _finished_study(tmp_path / "study")


def _report(path, out):
    result = CliRunner().invoke(app, ["study", "report", str(path), "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _no_drawing(view):
    raise AssertionError("the page was drawn again")


def _pages(path):
    return sorted((load_study_config(path).study_dir / predict_cache.CACHE_DIR)
                  .glob("report-*.html"))


def test_a_second_report_is_the_kept_page_and_the_same_bytes(finished, tmp_path, monkeypatch):
    first = _report(finished, tmp_path / "first.html")
    (kept,) = _pages(finished)
    assert kept.read_text(encoding="utf-8") == first
    fresh = report.build_report_html(read_study(str(finished)).view)
    assert fresh == first  # what is kept is what a fresh drawing gives
    monkeypatch.setattr(report, "build_report_html", _no_drawing)
    assert _report(finished, tmp_path / "second.html") == first


def test_a_new_trial_draws_the_page_afresh(growing, tmp_path, monkeypatch):
    finished = growing
    first = _report(finished, tmp_path / "first.html")
    assert first.count('<tr class="trial ') == 5
    config = yaml.safe_load(finished.read_text(encoding="utf-8"))
    config["search"]["max_trials"] = 6
    finished.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    _run(finished)
    drawn = []
    build = report.build_report_html
    monkeypatch.setattr(report, "build_report_html", lambda view: drawn.append(1) or build(view))
    second = _report(finished, tmp_path / "second.html")
    assert drawn == [1]
    assert second.count('<tr class="trial ') == 6 and second != first
    assert len(_pages(finished)) == 2


def test_a_damaged_kept_page_is_drawn_again(finished, tmp_path):
    first = _report(finished, tmp_path / "first.html")
    (kept,) = _pages(finished)
    kept.write_text(first[: len(first) // 2], encoding="utf-8")  # cut short
    assert _report(finished, tmp_path / "again.html") == first
    assert kept.read_text(encoding="utf-8") == first


def test_the_key_follows_every_field_of_the_view(make_view):
    view = make_view()
    key = report_cache.cache_key(view)
    assert report_cache.cache_key(make_view()) == key
    trials = list(view.trials)
    done = next(i for i, r in enumerate(trials) if r.status is TrialStatus.COMPLETED)
    failed = next(i for i, r in enumerate(trials) if r.status is TrialStatus.FAILED)

    def with_trial(i, **change):
        changed = list(trials)
        changed[i] = dataclasses.replace(changed[i], **change)
        return dataclasses.replace(view, trials=tuple(changed))

    changed_views = [
        with_trial(done, objective=trials[done].objective + 1e-12),
        with_trial(done, weights={**trials[done].weights}),  # same weights: same key (below)
        with_trial(failed, reason="another reason"),
        with_trial(done, source="proposal" if trials[done].source != "proposal" else "design"),
        dataclasses.replace(view, trials=view.trials[:-1]),
        dataclasses.replace(view, name="other"),
        dataclasses.replace(view, maximize=False),
        dataclasses.replace(view, surrogate_options={"kernel": "quadratic+matern"}),
        dataclasses.replace(view, bounds={view.domains[0]: (0.0, 0.5)}),
        dataclasses.replace(view, seed=view.seed + 1),
        dataclasses.replace(view, parent_run_id="another-run"),
    ]
    keys = [report_cache.cache_key(v) for v in changed_views]
    assert keys[1] == key
    assert key not in keys[:1] + keys[2:]
    assert len(set(keys[:1] + keys[2:])) == len(keys) - 1


def test_the_key_follows_the_code(make_view, tmp_path, monkeypatch):
    view = make_view()
    root = predict_cache._ROOT
    for name in report_cache.SOURCES:  # a copy of the code the page is drawn by
        source, target = root / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    monkeypatch.setattr(predict_cache, "_ROOT", tmp_path)
    key = report_cache.cache_key(view)
    assert key == report_cache.cache_key(view)
    for name in ("mixopt/simplex.py", "studies/report.py"):
        edited = tmp_path / name
        edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        assert report_cache.cache_key(view) != key
        key = report_cache.cache_key(view)
