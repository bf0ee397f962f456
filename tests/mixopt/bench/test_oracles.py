"""Oracles: extremes, the promised shapes, determinism, and csv:/py: specs."""

from __future__ import annotations

import numpy as np
import pytest

from mixopt import simplex
from mixopt.bench.oracles import BUILTIN_FAMILIES, REFERENCE_DOMAINS, make_oracle
from mixopt.errors import MixoptError

# Used through the spec "py:tests.mixopt.bench.test_oracles:toy_score".
DOMAINS = ("a", "b", "c")


def toy_score(weights: dict[str, float]) -> float:
    return 0.5 - (weights["a"] - 0.5) ** 2 - (weights["b"] - 0.3) ** 2 - (weights["c"] - 0.2) ** 2


def _random_points(oracle, n=2000, seed=3):
    return simplex.sample(n, oracle.space, np.random.default_rng(seed))


@pytest.mark.parametrize("family", BUILTIN_FAMILIES)
@pytest.mark.parametrize("seed", [0, 1])
def test_builtin_optimum_bounds_every_value(family, seed):
    oracle = make_oracle(family, seed=seed)
    values = oracle.value(_random_points(oracle))
    assert oracle.space.domains == REFERENCE_DOMAINS
    assert values.max() <= oracle.optimum + 1e-9
    assert values.min() >= oracle.minimum - 1e-9
    assert oracle.value(oracle.argmax)[0] == pytest.approx(oracle.optimum, abs=1e-9)
    # The realistic scale the families promise.
    assert 0.30 <= oracle.minimum <= 0.45
    assert 0.05 <= oracle.value_range <= 0.20 + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_sparse_optimum_puts_zero_weight_on_a_domain(seed):
    oracle = make_oracle("sparse", seed=seed)
    assert oracle.argmax.min() < 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_sharp_optimum_is_interior(seed):
    assert make_oracle("sharp", seed=seed).argmax.min() > 0.02


@pytest.mark.parametrize("family", BUILTIN_FAMILIES)
def test_same_seed_same_instance_other_seed_other_instance(family):
    X = _random_points(make_oracle(family, seed=0), n=50)
    a, b, c = (make_oracle(family, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.value(X), b.value(X))
    assert a.optimum == b.optimum
    assert not np.allclose(a.value(X), c.value(X))


def test_observe_adds_noise_of_the_given_sd():
    oracle = make_oracle("quadratic", seed=0)
    X = np.tile(oracle.argmax, (4000, 1))
    noise = oracle.observe(X, np.random.default_rng(0), noise_sd=0.01) - oracle.optimum
    assert abs(noise.std() - 0.01) < 0.001


def test_dim_and_domain_names():
    assert make_oracle("quadratic", seed=0, dim=3).space.domains == ("d0", "d1", "d2")
    named = make_oracle("sparse", seed=0, domains=["x", "y", "z", "w"])
    assert named.space.domains == ("x", "y", "z", "w")
    assert named.argmax.min() < 1e-6


def test_csv_oracle_is_a_gp_posterior_mean(tmp_path):
    rng = np.random.default_rng(0)
    X = simplex.sample(12, make_oracle("quadratic", seed=0, dim=3).space, rng)
    y = 0.4 + 0.1 * X[:, 0] - 0.2 * (X[:, 1] - 0.4) ** 2
    path = tmp_path / "results.csv"
    lines = ["w.a,w.b,w.c,score"] + [f"{a:.17g},{b:.17g},{1 - a - b:.17g},{v:.17g}"
                                     for (a, b, _), v in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    oracle = make_oracle(f"csv:{path}", seed=0)  # the only metric column is the objective
    assert oracle.space.domains == ("a", "b", "c")
    assert np.abs(oracle.value(X) - y).max() < 0.02
    assert oracle.value(_random_points(oracle, 500)).max() <= oracle.optimum + 1e-9


def test_csv_oracle_with_two_metrics_needs_a_column(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("w.a,w.b,s1,s2\n0.5,0.5,1,2\n1,0,2,3\n")
    with pytest.raises(MixoptError, match="#COLUMN"):
        make_oracle(f"csv:{path}", seed=0)


def test_py_oracle_takes_domains_from_the_module():
    oracle = make_oracle("py:tests.mixopt.bench.test_oracles:toy_score", seed=0)
    assert oracle.space.domains == DOMAINS
    np.testing.assert_allclose(oracle.argmax, [0.5, 0.3, 0.2], atol=1e-4)
    assert oracle.optimum == pytest.approx(0.5, abs=1e-8)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "unknown oracle 'nope'; known: quadratic"),
        ("py:no_such_module_xyz:f", "cannot import module"),
        ("py:tests.mixopt.bench.test_oracles:missing", "has no function"),
        ("py:onlymodule", "expected py:MODULE:FUNCTION"),
        ("csv:/no/such/file.csv", "file not found"),
    ],
)
def test_bad_specs_are_one_line_errors(spec, message):
    with pytest.raises(MixoptError, match=message) as info:
        make_oracle(spec, seed=0)
    assert "\n" not in str(info.value)
