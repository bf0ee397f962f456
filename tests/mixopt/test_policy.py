"""The search policy: determinism, no repeated mixtures, honest noise, the recommendation's rule."""

from __future__ import annotations

import numpy as np
import pytest

from mixopt.bench import make_oracle, make_strategy
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.policy import History, Observation, PolicySettings, SearchPolicy
from mixopt.surrogates import options

SPACE = MixtureSpace(("a", "b", "c"))


def _peak(X: np.ndarray) -> np.ndarray:
    """Interior optimum at (0.2, 0.5, 0.3): a linear model cannot represent it."""
    return 0.8 - 2.0 * ((np.atleast_2d(X) - np.array([0.2, 0.5, 0.3])) ** 2).sum(axis=1)


def _history(X: np.ndarray, y: np.ndarray) -> History:
    return History(tuple(Observation(x, (float(v),)) for x, v in zip(X, y, strict=True)))


def test_bench_strategy_proposes_what_the_policy_asks_for_its_history():
    oracle = make_oracle("quadratic", seed=0, dim=3)
    strategy = make_strategy("scheffe-bo:init=4")
    run = strategy.run(oracle, 8, seed=5, batch_size=2)
    policy = SearchPolicy(strategy.settings(oracle.space, seed=5, batch_size=2))
    for start in range(0, 8, 2):  # every batch was asked with the results before it
        ask = policy.ask(_history(run.X[:start], run.y[:start]), 2)
        np.testing.assert_allclose(ask.X, run.X[start:start + 2])
    again = SearchPolicy(strategy.settings(oracle.space, seed=5, batch_size=2))
    np.testing.assert_array_equal(again.ask(_history(run.X[:6], run.y[:6]), 2).X,
                                  policy.ask(_history(run.X[:6], run.y[:6]), 2).X)


def test_no_proposal_repeats_an_observed_or_pending_mixture():
    settings = PolicySettings(SPACE, design="vertices+centroid", surrogate="scheffe", seed=0)
    policy = SearchPolicy(settings)
    X = policy.design
    y = np.full(len(X), 0.5)  # a flat surface: every mixture looks alike to the acquisition
    pending = np.array([[0.5, 0.5, 0.0]])
    ask = policy.ask(History(_history(X, y).observations, pending=pending), 3)
    taken = np.vstack([X, pending])
    for p in ask.proposals:
        assert p.kind != "replicate"
        assert np.linalg.norm(taken - p.x, axis=1).min() > 1e-3
    # The design is not repeated either: trials already at design points are skipped.
    first = policy.ask(History(_history(X[:2], y[:2]).observations), 2)
    assert [p.kind for p in first.proposals] == ["design", "design"]
    np.testing.assert_allclose(first.X, X[2:4])


def test_bounds_that_leave_one_mixture_propose_a_recorded_replicate():
    from mixopt.mixture import DomainBounds

    space = MixtureSpace(("a", "b"), {"a": DomainBounds(0.3, 0.3)})
    policy = SearchPolicy(PolicySettings(space, design="sobol", n_init=1, surrogate="linear"))
    X = np.array([[0.3, 0.7]])
    ask = policy.ask(_history(X, np.array([0.1])), 1)
    assert [p.kind for p in ask.proposals] == ["replicate"]


def test_noise_never_below_what_replicates_show_and_a_known_sd_is_used():
    rng = np.random.default_rng(0)
    X = np.repeat(rng.dirichlet(np.ones(3), size=4), 3, axis=0)  # 4 mixtures, 3 runs each
    sd = 0.05
    y = _peak(X) + rng.normal(0, sd, len(X))
    fitted = SearchPolicy(PolicySettings(SPACE, surrogate="scheffe")).fit(_history(X, y))
    assert fitted.noise.replicate_sd is not None and fitted.noise.replicate_dof == 8
    assert fitted.noise_sd() >= fitted.noise.replicate_sd * (1 - 1e-9)
    # Without the floor the Bayesian quadratic (10 coefficients, 12 runs) may explain the noise.
    rec = SearchPolicy(PolicySettings(SPACE, surrogate="scheffe")).recommend(_history(X, y))
    assert rec.std >= fitted.noise.replicate_sd * (1 - 1e-9)
    assert rec.noise_std is not None and rec.latent_std is not None
    assert rec.std == pytest.approx(np.hypot(rec.latent_std, rec.noise_std))
    known = SearchPolicy(PolicySettings(SPACE, surrogate="scheffe", noise_sd=0.2))
    assert known.fit(_history(X, y)).model.noise_sd == pytest.approx(0.2, rel=1e-6)


def test_a_failing_surrogate_recommends_the_best_observed_mixture():
    X = SearchPolicy(PolicySettings(SPACE, design="sobol", n_init=12, seed=1)).design
    X = np.vstack([X, [[0.2, 0.5, 0.3]]])
    y = _peak(X)
    linear = SearchPolicy(PolicySettings(SPACE, surrogate="linear"))
    rec = linear.recommend(_history(X, y))
    assert rec.rule == "best-observed" and rec.reason
    np.testing.assert_allclose(rec.mixture.to_vector(SPACE.domains), [0.2, 0.5, 0.3])
    assert rec.mean == pytest.approx(0.8)
    unchecked = SearchPolicy(PolicySettings(SPACE, surrogate="linear",
                                            check_recommendation=False))
    assert unchecked.recommend(_history(X, y)).rule == "surrogate"
    good = SearchPolicy(PolicySettings(SPACE, surrogate="scheffe")).recommend(_history(X, y))
    assert good.rule == "surrogate"


@pytest.mark.parametrize(("name", "opts", "message"), [
    ("gpp", {}, "unknown surrogate 'gpp'"),
    ("gp", {"foo": 1}, "has no option 'foo'"),
    ("gp", {"kernel": "bogus"}, "unknown kernel 'bogus'"),
    ("quadsurface", {"test_fraction": 2}, "between 0 and 1"),
])
def test_surrogate_settings_are_refused_before_anything_runs(name, opts, message):
    assert any(message in text for _, text in options.check(name, opts))
    with pytest.raises(MixoptError, match=message):
        PolicySettings(SPACE, surrogate=name, surrogate_options=opts)


def test_declared_options_match_the_constructors():
    import inspect

    from mixopt import surrogates

    for name, declared in options.OPTIONS.items():
        cls = surrogates._REGISTRY[name] if surrogates.names() else None
        params = set(inspect.signature(cls).parameters) - {"space", "seed"}
        assert params == set(declared), name


def test_quadsurface_proposes_through_the_policy():
    policy = SearchPolicy(PolicySettings(SPACE, design="reference_seed", surrogate="quadsurface"))
    X = policy.design
    ask = policy.ask(_history(X, _peak(X)), 2)
    assert [p.kind for p in ask.proposals] == ["acquisition", "acquisition"]
