"""One contract suite run against every registered surrogate."""

from __future__ import annotations

import numpy as np
import pytest

from mixopt import designs, simplex, surrogates
from mixopt.errors import FitError
from mixopt.mixture import DomainBounds, MixtureSpace

DOMAINS = ("coco", "lisa", "geoqav", "sat", "scienceqa")
OPTIMUM = np.array([0.1, 0.35, 0.05, 0.3, 0.2])


def objective(X: np.ndarray) -> np.ndarray:
    """A smooth concave score peaking at `OPTIMUM` (maximized)."""
    return 0.6 - np.sum((X - OPTIMUM) ** 2, axis=1)


def data(space: MixtureSpace, n: int = 14, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X = np.vstack([designs.reference_seed(space), designs.space_filling(space, n, seed=seed)])
    y = objective(X) + 0.01 * np.random.default_rng(seed).standard_normal(len(X))
    return X, y


@pytest.fixture(params=surrogates.names())
def name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def space() -> MixtureSpace:
    return MixtureSpace(DOMAINS)


def test_predict_shapes_and_positive_std(name: str, space: MixtureSpace) -> None:
    model = surrogates.create(name, space, seed=0)
    model.fit(*data(space))
    Xq = simplex.sample(7, space, np.random.default_rng(1))
    pred = model.predict(Xq)
    assert pred.mean.shape == (7,) and pred.std.shape == (7,)
    assert np.all(np.isfinite(pred.mean))
    assert np.all(np.isfinite(pred.std)) and np.all(pred.std > 0)


def test_same_seed_same_results(name: str, space: MixtureSpace) -> None:
    X, y = data(space)
    Xq = simplex.sample(5, space, np.random.default_rng(2))
    first, second = (surrogates.create(name, space, seed=3) for _ in range(2))
    first.fit(X, y)
    second.fit(X, y)
    np.testing.assert_array_equal(first.predict(Xq).mean, second.predict(Xq).mean)
    np.testing.assert_array_equal(first.predict(Xq).std, second.predict(Xq).std)
    assert first.recommend() == second.recommend()


def test_duplicate_observations(name: str, space: MixtureSpace) -> None:
    X, y = data(space)
    model = surrogates.create(name, space)
    model.fit(np.vstack([X, X[:4]]), np.concatenate([y, y[:4] + 0.001]))
    pred = model.predict(X[:4])
    assert np.all(np.isfinite(pred.mean)) and np.all(pred.std > 0)


def test_fewest_observations(name: str, space: MixtureSpace) -> None:
    model = surrogates.create(name, space)
    X, y = data(space)
    k = model.min_observations
    with pytest.raises(FitError):
        model.fit(X[: k - 1], y[: k - 1])
    model.fit(X[:k], y[:k])
    assert np.all(model.predict(X[:3]).std > 0)
    if k <= 2:
        model.fit(X[[0, 5]], y[[0, 5]])
        assert space.contains(model.recommend().mixture)


def test_domain_fixed_at_zero(name: str) -> None:
    space = MixtureSpace(DOMAINS, {"geoqav": DomainBounds.fixed_zero()})
    model = surrogates.create(name, space)
    model.fit(*data(space))
    rec = model.recommend()
    assert rec.mixture["geoqav"] == 0.0
    assert space.contains(rec.mixture)
    assert np.isfinite(rec.mean) and np.isfinite(rec.std) and rec.std > 0


def test_recommendation_is_valid_and_good(name: str, space: MixtureSpace) -> None:
    model = surrogates.create(name, space)
    X, y = data(space, n=30)
    model.fit(X, y)
    rec = model.recommend()
    assert space.contains(rec.mixture)
    assert set(rec.mixture) == set(DOMAINS)
    if name != "linear":  # a linear model's argmax is a vertex, whatever the truth
        x = rec.mixture.to_vector(DOMAINS)
        assert objective(x[None, :])[0] > np.quantile(y, 0.5)


def test_predict_before_fit_raises(name: str, space: MixtureSpace) -> None:
    model = surrogates.create(name, space)
    with pytest.raises(FitError):
        model.predict(np.full((1, 5), 0.2))


def test_nan_in_y_raises(name: str, space: MixtureSpace) -> None:
    X, y = data(space)
    y[3] = np.nan
    with pytest.raises(FitError):
        surrogates.create(name, space).fit(X, y)
