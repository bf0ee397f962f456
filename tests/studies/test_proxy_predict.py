"""`study predict` and `study report` of a study with proxy trials show the search policy's
multi-fidelity fit (`studies.proxy_fit`), by config and by name, not a target-only refit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mixopt.policy import History, SearchPolicy
from studies.analysis import fit_study, view_of
from studies.cli import app
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.report import build_report_html
from studies.trials import latest_attempts
from tests.studies.study_files import function_study

PROXY = {"levels": [{"name": "small", "cost": 0.1}]}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proxy-predict")
    path = function_study(tmp, target="studies.examples.known_surface:proxy_surface",
                          max_trials=5, proxies=PROXY)
    config = load_study_config(path)
    outcome = run_study(config, poll_interval_s=0.01)
    return path, config, outcome


def _predict(*argv: str) -> dict:
    result = CliRunner().invoke(app, ["study", "predict", *argv, "--json", "--top", "3"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_fit_is_the_policys_multi_fidelity_model(study):
    _, config, outcome = study
    latest = latest_attempts(ledger_of(config).trials())
    proxies = sum(bool(r.proxy) for r in latest)
    assert proxies and proxies < len(latest)
    fitted = fit_study(view_of(config, ledger_of(config).trials(), None))
    assert fitted.proxy_trials == proxies and len(fitted.y) == len(latest) - proxies
    # The study's recommendation was the policy's prediction at that mixture: the same model.
    rec = outcome.recommendation
    assert rec.rule == "surrogate"
    x = rec.mixture.to_vector(config.domain_names)[None, :]
    mean, std = fitted.predict(x)
    assert mean[0] == pytest.approx(rec.mean, abs=1e-9) and std[0] == pytest.approx(rec.std)
    # Leave-one-out over the target trials: each one predicted by the policy's fit of the rest.
    diag = fitted.loo()
    assert len(fitted.y) >= 3 and diag is not None and len(diag.mean) == len(fitted.y)
    history = fitted.model.history
    first = next(i for i, o in enumerate(history.observations) if o.fidelity >= 1.0)
    rest = History(tuple(o for j, o in enumerate(history.observations) if j != first))
    x = history.observations[first].x[None, :]
    alone_mean, alone_std = SearchPolicy(fitted.model.settings).fit(rest).predict(x)  # maximized
    assert diag.mean[0] == pytest.approx(alone_mean[0])
    assert diag.std[0] == pytest.approx(alone_std[0])
    assert diag.mean[0] != pytest.approx(fitted.predict(x)[0][0])  # the trial was left out


def test_predict_by_config_and_by_name_counts_the_proxy_trials(study):
    path, config, _ = study
    by_path = _predict(str(path))
    by_name = _predict(config.name, "--tracking-uri", config.tracking_uri)
    assert by_path["proxy_trials"] > 0 and by_path == by_name
    top = by_path["top"][0]
    # In target units: the proxy surface never exceeds 0.5 (+ noise), the target's does.
    assert top["mean"] > 0.6
    assert sum(top["weights"].values()) == pytest.approx(1.0)
    text = CliRunner().invoke(app, ["study", "predict", str(path)]).stdout
    assert f"fitted with {by_path['proxy_trials']} proxy trial(s) too" in text


def test_a_target_only_fit_would_say_another_thing(study):
    """What predict showed before: the target trials alone, another model."""
    _, config, _ = study
    view = view_of(config, ledger_of(config).trials(), None)
    target_only = fit_study(view.__class__(**{**view.__dict__, "proxy_kernel": None}))
    fitted = fit_study(view)
    X = np.eye(len(config.domain_names))
    assert not np.allclose(target_only.predict(X)[0], fitted.predict(X)[0], atol=1e-3)


def test_the_report_names_the_multi_fidelity_model(study):
    _, config, _ = study
    page = build_report_html(view_of(config, ledger_of(config).trials(), None))
    assert "multi-fidelity GP (ar1) of proxies small (cost 0.1)" in page
    assert 'id="loo-missing"' not in page and 'id="rec-predicted"' in page
