"""The harness and strategies: shapes, regret sign, determinism, batching, JSON schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixopt.bench import make_oracle, make_strategy, run_benchmark
from mixopt.bench.harness import expand_oracles
from mixopt.errors import MixoptError

NOISE = 0.005


def test_results_have_one_entry_per_trial_count():
    result = run_benchmark(["quadratic", "sparse"], ["random", "reference"], trials=13, seeds=2)
    assert len(result.runs) == 2 * 2 * 2
    for strategy in ("random", "reference"):
        summary = result.summary(strategy)
        for key in ("median_regret", "q25_regret", "q75_regret", "median_normalized_regret",
                    "q25_normalized_regret", "q75_normalized_regret"):
            assert len(summary[key]) == 13
        assert summary["n_runs"] == 4
        assert len(result.summary(strategy, "sparse")["median_regret"]) == 13
    for run in result.runs:
        assert run.values.shape == (13,)
        assert np.all(run.regret >= -1e-9)  # true values: noise never enters the regret
        assert np.all(run.normalized_regret <= 1 + 1e-9)


def test_random_search_regret_never_increases_without_noise():
    oracle = make_oracle("quadratic", seed=0)
    run = make_strategy("random").run(oracle, 20, seed=0, noise_sd=0.0)
    assert np.all(np.diff(run.values) >= 0)


def test_same_seed_same_result():
    a = run_benchmark(["diminishing"], ["random", "reference"], trials=12, seeds=2)
    b = run_benchmark(["diminishing"], ["random", "reference"], trials=12, seeds=2)
    for ra, rb in zip(a.runs, b.runs, strict=True):
        np.testing.assert_array_equal(ra.values, rb.values)


def test_reference_starts_with_its_seed_design_and_batches_respect_q():
    oracle = make_oracle("quadratic", seed=1)
    run = make_strategy("reference").run(oracle, 15, seed=0, batch_size=4)
    assert run.X.shape == (15, 5)
    from mixopt import designs

    np.testing.assert_allclose(run.X[:11], designs.reference_seed(oracle.space))
    assert run.recommended.shape == (15, 5)


@pytest.mark.parametrize("spec", ["gp-bo", "scheffe-bo:init=4"])
def test_model_based_strategies_run_and_use_their_model(spec):
    oracle = make_oracle("quadratic", seed=0, dim=3)
    run = make_strategy(spec).run(oracle, 5, seed=0, batch_size=2)  # 4 design points + 1
    assert run.values.shape == (5,)
    assert np.all(oracle.optimum - run.values >= -1e-9)
    assert run.fit_failures == 0


def test_json_schema():
    result = run_benchmark(["builtin"], ["random"], trials=3, seeds=1)
    data = json.loads(result.to_json())
    assert data["schema"] == "mixopt.bench/1"
    meta = data["metadata"]
    assert meta["oracles"] == list(expand_oracles(["builtin"]))
    assert (meta["trials"], meta["seeds"], meta["noise_sd"], meta["batch_size"]) == (3, 1, NOISE, 1)
    assert len(data["results"]["random"]["median_regret"]) == 3
    assert set(data["per_oracle"]) == set(meta["oracles"])
    assert len(data["runs"]) == len(meta["oracles"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"oracles": ["nope"]}, "unknown oracle"),
        ({"strategies": ["nope"]}, "unknown strategy 'nope'; known: random"),
        ({"strategies": ["gp-bo:kernel=rbf"]}, "unknown kernel"),
        ({"strategies": ["random:init=3"]}, "bad option"),
        ({"trials": 0}, "trials must be >= 1"),
        ({"seeds": 0}, "seeds must be >= 1"),
    ],
)
def test_bad_arguments_are_mixopt_errors(kwargs, message):
    args = {"oracles": ["quadratic"], "strategies": ["random"], "trials": 3, "seeds": 1} | kwargs
    with pytest.raises(MixoptError, match=message):
        run_benchmark(**args)


def test_json_round_trip():
    from mixopt.bench import BenchResult

    result = run_benchmark(["sparse"], ["random"], trials=4, seeds=2)
    again = BenchResult.from_json(result.to_json())
    before, after = result.summary("random"), again.summary("random")
    assert after["median_normalized_regret"] == before["median_normalized_regret"]
    assert after["q75_regret"] == before["q75_regret"]
    with pytest.raises(MixoptError, match="schema"):
        BenchResult.from_json("{}")
