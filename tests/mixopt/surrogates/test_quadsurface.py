from __future__ import annotations

import numpy as np
import pytest

from mixopt import designs, simplex
from mixopt.errors import FitError
from mixopt.mixture import DomainBounds, MixtureSpace
from mixopt.surrogates.quadsurface import QuadSurfaceSurrogate

SPACE = MixtureSpace(("a", "b", "c", "d"))
PEAK = np.array([0.1, 0.4, 0.3, 0.2])


def score(X: np.ndarray) -> np.ndarray:
    return 1.0 - np.sum((X - PEAK) ** 2, axis=1)


def fitted(space: MixtureSpace = SPACE, n: int = 25) -> QuadSurfaceSurrogate:
    X = np.vstack([designs.reference_seed(space), designs.space_filling(space, n, seed=0)])
    model = QuadSurfaceSurrogate(space, seed=0)
    model.fit(X, score(X))
    return model


def test_exact_quadratic_is_fitted_and_std_is_tiny_but_positive() -> None:
    model = fitted()
    Xq = simplex.sample(20, SPACE, np.random.default_rng(1))
    np.testing.assert_allclose(model.predict(Xq).mean, score(Xq), atol=1e-8)
    assert 0 < model.predict(Xq).std[0] < 1e-4
    assert model.test_r2 == pytest.approx(1.0)


def test_propose_is_feasible_distinct_and_avoids_pending() -> None:
    model = fitted()
    first = model.propose(1)
    batch = model.propose(4, X_pending=first)
    assert batch.shape == (4, 4)
    assert np.all(simplex.is_feasible(batch, SPACE))
    assert np.min(np.linalg.norm(batch - first, axis=1)) >= 1e-3
    dists = np.linalg.norm(batch[:, None] - batch[None], axis=2) + np.eye(4)
    assert dists.min() >= 1e-3
    assert np.all(score(batch) > 0.97)  # near the peak


def test_recommend_is_the_top_candidate() -> None:
    model = fitted()
    rec = model.recommend()
    x = rec.mixture.to_vector(SPACE.domains)
    assert rec.mean == pytest.approx(model.predict(model.candidates()).mean.max())
    assert np.linalg.norm(x - PEAK) < 0.1


def test_bounds_are_respected() -> None:
    space = MixtureSpace(SPACE.domains, {"a": DomainBounds.fixed_zero(), "b": DomainBounds(0, 0.3)})
    model = fitted(space)
    C = model.propose(5)
    assert np.all(C[:, 0] == 0) and np.all(C[:, 1] <= 0.3 + 1e-9)


def test_underdetermined_fit_uses_min_norm() -> None:
    model = QuadSurfaceSurrogate(SPACE)
    X = designs.vertices(SPACE)[:3]
    model.fit(X, np.array([0.1, 0.2, 0.3]))
    assert np.all(np.isfinite(model.predict(X).mean))
    with pytest.raises(FitError):
        model.fit(X[:2], np.array([0.1, 0.2]))
