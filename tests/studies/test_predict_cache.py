"""`study predict` keeps its answer keyed by the trials: a second call does not refit."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from studies import analysis
from studies.cli import app
from studies.cli.predict_cache import CACHE_DIR, cache_key
from studies.config import load_study_config
from studies.trials import TrialStatus
from tests.studies.study_files import function_study


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    path = function_study(tmp_path_factory.mktemp("cache"), max_trials=5)
    result = CliRunner().invoke(app, ["study", "run", str(path), "--poll-interval", "0.01"])
    assert result.exit_code == 0, result.output
    return path


def _predict(path, *extra):
    result = CliRunner().invoke(app, ["study", "predict", str(path), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _no_fit(view):
    raise AssertionError("the surrogate was fitted again")


def test_a_second_predict_reuses_the_answer_and_a_damaged_one_is_recomputed(finished,
                                                                            monkeypatch):
    first = _predict(finished)
    monkeypatch.setattr(analysis, "fit_study", _no_fit)
    assert _predict(finished) == first
    folder = load_study_config(finished).study_dir / CACHE_DIR
    (entry,) = folder.glob("predict-*.json")
    entry.write_text("{not json", encoding="utf-8")
    monkeypatch.undo()
    assert _predict(finished) == first  # recomputed, and kept again
    assert json.loads(entry.read_text(encoding="utf-8"))["trials"] == first["trials"]


def test_another_top_is_computed_afresh(finished, monkeypatch):
    _predict(finished)
    monkeypatch.setattr(analysis, "fit_study", _no_fit)
    with pytest.raises(AssertionError, match="fitted again"):
        CliRunner().invoke(app, ["study", "predict", str(finished), "--top", "2"],
                           catch_exceptions=False)


def test_the_key_follows_the_trials_and_the_settings(make_view):
    view = make_view()
    key = cache_key(view, 5)
    assert cache_key(view, 5) == key
    assert cache_key(view, 4) != key
    changed = list(view.trials)
    i = next(i for i, r in enumerate(changed) if r.status is TrialStatus.COMPLETED)
    changed[i] = dataclasses.replace(changed[i], objective=changed[i].objective + 1e-9)
    assert cache_key(dataclasses.replace(view, trials=tuple(changed)), 5) != key
    assert cache_key(dataclasses.replace(view, surrogate="linear"), 5) != key
    assert cache_key(dataclasses.replace(view, seed=view.seed + 1), 5) != key
