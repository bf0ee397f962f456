"""Tests of acquisition: feasible, pending-aware, deterministic batches; Pareto fronts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from mixopt import acquisition, simplex
from mixopt.errors import MixoptError
from mixopt.mixture import DomainBounds, MixtureSpace
from mixopt.surrogates.gp import GPSurrogate

SPACE = MixtureSpace(
    ("a", "b", "c", "d"), {"a": DomainBounds(0.1, 0.7), "d": DomainBounds.fixed_zero()}
)
FAST = {"num_restarts": 4, "raw_samples": 64}


def smooth(X: np.ndarray) -> np.ndarray:
    return np.sin(3 * X[:, 0]) + X[:, 1] - 2 * X[:, 2] ** 2


@pytest.fixture(scope="module")
def fitted() -> GPSurrogate:
    X = simplex.sample(10, SPACE, np.random.default_rng(0), method="sobol")
    model = GPSurrogate(SPACE, seed=0)
    model.fit(X, smooth(X))
    return model


def test_batch_is_feasible(fitted) -> None:
    X = acquisition.propose_batch(fitted, 3, seed=0, **FAST)
    assert X.shape == (3, 4)
    assert np.all(simplex.is_feasible(X, SPACE))
    assert np.all(X[:, 3] == 0.0) and np.all(X[:, 0] >= 0.1 - 1e-12)


def test_batch_avoids_pending_and_itself(fitted) -> None:
    pending = acquisition.propose_batch(fitted, 2, seed=0, **FAST)
    X = acquisition.propose_batch(fitted, 3, X_pending=pending, seed=0, **FAST)
    assert cdist(X, pending).min() > 1e-3
    assert cdist(X, X)[np.triu_indices(3, 1)].min() > 1e-3


def test_optimizer_landing_on_a_pending_point_is_replaced(fitted, monkeypatch) -> None:
    pending = simplex.sample(1, SPACE, np.random.default_rng(5))
    stuck = torch.as_tensor(pending, dtype=torch.float64)
    monkeypatch.setattr(acquisition, "optimize_acqf", lambda **kwargs: (stuck, None))
    X = acquisition.propose_batch(fitted, 2, X_pending=pending, seed=0, **FAST)
    assert cdist(X, pending).min() > 1e-3
    assert np.linalg.norm(X[0] - X[1]) > 1e-3
    assert np.all(simplex.is_feasible(X, SPACE))


def test_batch_deterministic_for_a_seed(fitted) -> None:
    first = acquisition.propose_batch(fitted, 2, seed=7, **FAST)
    assert np.array_equal(first, acquisition.propose_batch(fitted, 2, seed=7, **FAST))


def test_bad_arguments_raise(fitted) -> None:
    with pytest.raises(MixoptError, match="q must be"):
        acquisition.propose_batch(fitted, 0, seed=0)
    with pytest.raises(MixoptError, match="columns"):
        acquisition.propose_batch(fitted, 1, X_pending=np.ones((1, 3)), seed=0)


def test_recommend_is_the_surrogates(fitted) -> None:
    assert acquisition.recommend(fitted) == fitted.recommend()


def test_multiobjective_batch_is_feasible(fitted) -> None:
    X_train = fitted.X_train
    second = GPSurrogate(SPACE, seed=0)
    second.fit(X_train, -X_train[:, 1])
    X = acquisition.propose_batch_multiobjective(
        [fitted, second], 1, seed=0, num_restarts=2, raw_samples=32
    )
    assert X.shape == (1, 4) and np.all(simplex.is_feasible(X, SPACE))
    X_front, Y_front = acquisition.predicted_pareto_front([fitted, second], 256, seed=0)
    assert len(X_front) >= 1 and Y_front.shape == (len(X_front), 2)
    assert np.all(simplex.is_feasible(X_front, SPACE))


def test_pareto_front_by_hand() -> None:
    X = np.arange(5.0)[:, None]
    Y = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0], [0.5, 0.5], [1.0, 0.5]])
    X_front, Y_front = acquisition.pareto_front(X, Y)
    assert X_front.ravel().tolist() == [0.0, 1.0, 2.0]
    assert Y_front.tolist() == [[1.0, 1.0], [2.0, 0.0], [0.0, 2.0]]
