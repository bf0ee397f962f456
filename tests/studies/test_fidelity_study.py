"""A `function`-launcher study with checkpoint fidelity and early stopping, end to end."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping

import yaml
from typer.testing import CliRunner

from mixopt.policy import SearchPolicy
from studies.checkpoints import FIDELITY_METRIC, OBJECTIVE_METRIC
from studies.cli import app
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.examples.known_surface import quadratic_surface
from studies.orchestrator import Orchestrator, policy_settings
from studies.trials import TrialStatus, latest_attempts

CHECKPOINTS = [0.25, 0.5, 1.0]


def curve_surface(weights: Mapping[str, float], *, seed: int = 0,
                  report: Callable[[float, Mapping[str, float]], None]) -> dict[str, float]:
    """The known surface learned over the budget: ``out_score`` at fraction f is the final
    score times (0.5 + 0.5 f); each segment takes MIXOPT_TEST_DELAY seconds (default 0)."""
    final = quadratic_surface(weights, seed=seed)
    delay = float(os.environ.get("MIXOPT_TEST_DELAY", "0"))
    for fraction in report.fractions:
        time.sleep(delay)
        report(fraction, {"out_score": final["out_score"] * (0.5 + 0.5 * fraction)})
    time.sleep(delay)
    return final


def fidelity_study(tmp_path, *, early_stopping=None, **search) -> object:
    config = {
        "name": "fidelity-unit",
        "domains": ["alpha", "beta", "gamma"],
        "search": {"initial_design": {"kind": "centroid+sobol", "n": 4}, "batch_size": 2,
                   "parallelism": 2, "max_trials": 8, "seed": 0,
                   "fidelity": {"checkpoints": CHECKPOINTS}, **search},
        "eval": {"objective": {"metric": "out_score"}},
        "launcher": {"kind": "function",
                     "target": "tests.studies.test_fidelity_study:curve_surface"},
        "workdir": str(tmp_path / "runs"),
    }
    if early_stopping is not None:
        config["search"]["early_stopping"] = early_stopping
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_percentile_rule_stops_trials_and_their_checkpoints_are_fitted(tmp_path):
    path = fidelity_study(tmp_path, early_stopping={"rule": "percentile", "percentile": 50,
                                                    "min_curves": 2})
    config = load_study_config(path)
    outcome = run_study(config, poll_interval_s=0.01)
    ledger = ledger_of(config)
    latest = latest_attempts(ledger.trials())
    assert [r.index for r in latest] == list(range(8))
    stopped = [r for r in latest if r.status is TrialStatus.STOPPED_EARLY]
    assert stopped, [r.status.value for r in latest]
    assert all(r.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED_EARLY) for r in latest)
    client = ledger.client
    for r in stopped:
        assert r.reason.startswith("stopped early by the percentile rule: value ")
        numbers = json.loads(client.get_run(r.run_id).data.tags["mixopt.early_stop"])
        assert numbers["rule"] == "percentile" and numbers["value"] < numbers["threshold"]
        assert client.get_run(r.run_id).info.status == "KILLED"
        assert r.objective is None
    for r in latest:  # every checkpoint once, at its step, with its objective
        steps = [m.step for m in client.get_metric_history(r.run_id, FIDELITY_METRIC)]
        assert steps == sorted(set(steps)) and steps[0] == 250
        assert steps[-1] == (1000 if r.status is TrialStatus.COMPLETED else steps[-1])
        objective = client.get_metric_history(r.run_id, OBJECTIVE_METRIC)
        assert sorted(m.step for m in objective) == steps
    # The surrogate's data: every checkpoint of every trial, at its fraction, and the full runs.
    orchestrator = Orchestrator(config, None, ledger)
    history = orchestrator._history(ledger.trials())
    fractions = sorted(o.fidelity for o in history.observations)
    done = [r for r in latest if r.status is TrialStatus.COMPLETED]
    assert fractions.count(1.0) == len(done)
    assert fractions.count(0.25) == len(latest)
    assert len(history.abandoned) == len(stopped)
    assert policy_settings(config).multi_fidelity == "ar1"
    fitted = SearchPolicy(policy_settings(config)).fit(history)  # the multi-fidelity GP
    assert sorted(fitted.fidelity) == fractions
    assert outcome.recommendation is not None
    assert outcome.recommendation.mean == outcome.recommendation.mean  # a number, not nan
    # `study status` says it, with the rule's numbers in the note.
    result = CliRunner().invoke(app, ["study", "status", str(path), "--json"])
    assert result.exit_code == 0, result.output
    shown = {t["index"]: t for t in json.loads(result.output)["trials"]}
    for r in stopped:
        assert shown[r.index]["status"] == "stopped_early"
        assert shown[r.index]["reason"] == r.reason and "percentile" in r.reason
    table = CliRunner().invoke(app, ["study", "status", str(path), "--wide"])
    assert table.exit_code == 0 and "stopped_early" in table.output
