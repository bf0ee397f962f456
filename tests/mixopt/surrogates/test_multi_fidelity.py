"""Tests of the multi-fidelity GP: a proxy with an offset informs the target; shapes; errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mixopt import simplex
from mixopt.errors import FitError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.multi_fidelity import MultiFidelityGP

SPACE = MixtureSpace(("a", "b", "c"))
OPTIMUM = np.array([0.5, 0.3, 0.2])
PROXY = 0.1


def target(X: np.ndarray) -> np.ndarray:
    return 1.0 - 4.0 * ((X - OPTIMUM) ** 2).sum(axis=1)


def proxy(X: np.ndarray) -> np.ndarray:
    # The same shape, far below the target (as a small model's score is), slightly tilted.
    return target(X) - 2.0 + 0.1 * X[:, 0]


@pytest.fixture(scope="module", params=["linear-truncated", "ar1"])
def fitted(request) -> tuple[MultiFidelityGP, np.ndarray]:
    X_low = simplex.sample(20, SPACE, np.random.default_rng(0), method="sobol")
    X_high = simplex.sample(3, SPACE, np.random.default_rng(1))
    X = np.vstack([X_low, X_high])
    s = np.r_[np.full(20, PROXY), np.ones(3)]
    y = np.r_[proxy(X_low), target(X_high)]
    model = MultiFidelityGP(SPACE, seed=0, kernel=request.param)
    model.fit(X, s, y)
    return model, X


def test_target_prediction_uses_the_proxies_and_their_offset(fitted) -> None:
    model, _ = fitted
    X_test = simplex.sample(100, SPACE, np.random.default_rng(2))
    at_target = model.predict(X_test, 1.0)
    at_proxy = model.predict(X_test, np.full(100, PROXY))
    # Three target points alone cannot rank 100 mixtures; the proxies can.
    assert stats.spearmanr(at_target.mean, target(X_test))[0] > 0.9
    # Each fidelity is predicted on its own level (the proxy sits 2 below the target).
    assert np.abs(at_target.mean - target(X_test)).mean() < 0.3
    assert np.abs(at_proxy.mean - proxy(X_test)).mean() < 0.1
    assert at_target.std.shape == (100,) and at_target.latent_std is not None


def test_correlation_is_one_at_the_target_and_a_correlation_for_the_proxy(fitted) -> None:
    model, _ = fitted
    new = simplex.sample(4, SPACE, np.random.default_rng(6))
    np.testing.assert_allclose(model.correlation(new, 1.0), 1.0, atol=1e-6)
    # Posterior correlations: what is left to learn about the target from one more proxy.
    low = model.correlation(new, PROXY)
    assert low.shape == (4,) and np.all(np.abs(low) < 1.0 - 1e-3)


def test_product_kernel_fits_too() -> None:
    X = simplex.sample(8, SPACE, np.random.default_rng(3))
    model = MultiFidelityGP(SPACE, kernel="product")
    model.fit(X, np.r_[np.full(4, 0.5), np.ones(4)], target(X))
    assert model.predict(X[:2], 1.0).mean.shape == (2,)
    assert model.fidelity_train.shape == (8,) and model.X_train.shape == (8, 3)


def test_noise_floor_is_respected() -> None:
    X = simplex.sample(8, SPACE, np.random.default_rng(4))
    model = MultiFidelityGP(SPACE, noise_floor_var=0.01)
    model.fit(X, np.ones(8), target(X))
    assert model.noise_sd >= 0.1 - 1e-9


@pytest.mark.parametrize(("fidelity", "message"), [
    (np.r_[0.0, 1.0, 1.0], "fidelities must lie in"),
    (np.r_[1.5, 1.0, 1.0], "fidelities must lie in"),
    (np.r_[1.0, 1.0], "3 mixtures but 2 fidelities"),
])
def test_bad_fidelities_are_refused(fidelity, message) -> None:
    X = simplex.sample(3, SPACE, np.random.default_rng(5))
    with pytest.raises(FitError, match=message):
        MultiFidelityGP(SPACE).fit(X, fidelity, target(X))


def test_errors_before_fit_and_bad_kernel() -> None:
    with pytest.raises(FitError, match="call fit"):
        MultiFidelityGP(SPACE).predict(np.array([[0.2, 0.3, 0.5]]), 1.0)
    with pytest.raises(FitError, match="unknown kernel"):
        MultiFidelityGP(SPACE, kernel="rbf")


def test_ar1_predicts_an_unobserved_target_from_proxies_with_a_wider_sd() -> None:
    X = simplex.sample(12, SPACE, np.random.default_rng(7), method="sobol")
    model = MultiFidelityGP(SPACE, kernel="ar1")
    model.fit(X, np.full(12, PROXY), proxy(X))
    X_test = simplex.sample(50, SPACE, np.random.default_rng(8))
    at_target, at_proxy = model.predict(X_test, 1.0), model.predict(X_test, PROXY)
    assert stats.spearmanr(at_target.mean, target(X_test))[0] > 0.9
    assert np.all(at_target.std > at_proxy.std)  # the offset to the target is unknown
    with pytest.raises(FitError, match=r"fidelity 0\.5 was not observed"):
        model.predict(X_test, 0.5)


def test_ar1_honours_two_target_runs_that_disagree_with_their_proxies() -> None:
    # Two target runs whose order is the reverse of their proxies' (as RegMix's top 1M rows
    # are at 60M): the target prediction must follow the target runs, not one offset.
    X_low = simplex.sample(20, SPACE, np.random.default_rng(9), method="sobol")
    A, B = np.array([[0.5, 0.3, 0.2]]), np.array([[0.3, 0.4, 0.3]])
    X = np.vstack([X_low, A, B])
    s = np.r_[np.full(20, PROXY), 1.0, 1.0]
    y_target = proxy(np.vstack([A, B])) + 2.0 + np.r_[-0.2, 0.2]
    model = MultiFidelityGP(SPACE, seed=0, kernel="ar1")
    model.fit(X, s, np.r_[proxy(X_low), y_target])
    assert proxy(A)[0] > proxy(B)[0] and y_target[0] < y_target[1]
    at_target = model.predict(np.vstack([A, B]), 1.0)
    np.testing.assert_allclose(at_target.mean, y_target, atol=0.05)
    assert at_target.mean[1] > at_target.mean[0]
