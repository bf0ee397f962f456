"""Tests of the GP surrogate: fit quality, uncertainty, robust fitting, noise, closed-form LOO."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from linear_operator.utils.errors import NotPSDError

from mixopt import simplex
from mixopt.errors import FitError
from mixopt.mixture import DomainBounds, MixtureSpace
from mixopt.surrogates import gp as gp_module
from mixopt.surrogates.base import Surrogate
from mixopt.surrogates.gp import GPSurrogate

SPACE = MixtureSpace(("a", "b", "c"))
OPTIMUM = np.array([0.5, 0.3, 0.2])


def smooth(X: np.ndarray) -> np.ndarray:
    return 1.0 - 4.0 * ((X - OPTIMUM) ** 2).sum(axis=1)


@pytest.fixture(scope="module")
def fitted() -> tuple[GPSurrogate, np.ndarray, np.ndarray]:
    X = simplex.sample(15, SPACE, np.random.default_rng(0), method="sobol")
    y = smooth(X)
    model = GPSurrogate(SPACE, seed=0)
    model.fit(X, y)
    return model, X, y


def test_is_a_surrogate() -> None:
    assert isinstance(GPSurrogate(SPACE), Surrogate)
    assert GPSurrogate.name == "gp"
    assert GPSurrogate(SPACE).min_observations == 2


def test_fits_a_smooth_function(fitted) -> None:
    model, _, _ = fitted
    X_test = simplex.sample(200, SPACE, np.random.default_rng(1))
    pred = model.predict(X_test)
    rmse = np.sqrt(np.mean((pred.mean - smooth(X_test)) ** 2))
    assert rmse < 0.1 * smooth(X_test).std()
    rec = model.recommend()
    assert np.abs(rec.mixture.to_vector(SPACE.domains) - OPTIMUM).max() < 0.1


def test_std_small_at_data_and_larger_far_away() -> None:
    X = np.array([[0.6, 0.2, 0.2], [0.5, 0.3, 0.2], [0.5, 0.2, 0.3], [0.4, 0.3, 0.3]])
    model = GPSurrogate(SPACE, seed=0)
    model.fit(X, smooth(X))
    near = model.predict(X).std
    far = model.predict(np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])).std
    assert far.min() > 2 * near.max()


def test_two_observations_duplicates_and_zero_column() -> None:
    space = MixtureSpace(("a", "b", "c"), {"c": DomainBounds.fixed_zero()})
    model = GPSurrogate(space)
    model.fit(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.array([0.0, 1.0]))
    X = np.array([[0.2, 0.8, 0.0], [0.2, 0.8, 0.0], [0.7, 0.3, 0.0], [0.7, 0.3, 0.0]])
    model.fit(X, np.array([0.1, 0.12, 0.5, 0.48]))
    assert np.all(np.isfinite(model.predict(X).std))


def test_before_fit_and_bad_options_raise() -> None:
    with pytest.raises(FitError, match="fit"):
        GPSurrogate(SPACE).predict(np.array([[1.0, 0.0, 0.0]]))
    with pytest.raises(FitError, match="kernel"):
        GPSurrogate(SPACE, kernel="rbf")
    with pytest.raises(FitError, match="at least 2"):
        GPSurrogate(SPACE).fit(np.array([[1.0, 0.0, 0.0]]), np.array([1.0]))


def test_retries_after_not_psd(monkeypatch) -> None:
    real_fit = gp_module.fit_gpytorch_mll
    calls = []

    def flaky_fit(mll, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise NotPSDError("matrix not positive definite")
        return real_fit(mll, **kwargs)

    monkeypatch.setattr(gp_module, "fit_gpytorch_mll", flaky_fit)
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    GPSurrogate(SPACE).fit(X, np.array([0.0, 1.0, 2.0]))
    assert len(calls) == 2


def test_always_failing_fit_raises_fit_error(monkeypatch) -> None:
    def broken_fit(mll, **kwargs):
        raise NotPSDError("matrix not positive definite")

    monkeypatch.setattr(gp_module, "fit_gpytorch_mll", broken_fit)
    with pytest.raises(FitError, match="NotPSDError") as info:
        GPSurrogate(SPACE).fit(np.eye(3), np.array([0.0, 1.0, 2.0]))
    assert "\n" not in str(info.value)


def test_known_noise_sets_the_predictive_floor() -> None:
    X = np.vstack([np.eye(3), np.full((1, 3), 1 / 3)])
    model = GPSurrogate(SPACE, noise_var=0.04)
    model.fit(X, smooth(X))
    std = model.predict(X).std
    assert np.all(std >= 0.2 - 1e-9) and np.all(std < 0.3)


def test_deterministic_for_a_seed(fitted) -> None:
    model, X, y = fitted
    again = GPSurrogate(SPACE, seed=0)
    again.fit(X, y)
    assert np.allclose(again.predict(X).mean, model.predict(X).mean)


def test_loo_matches_refit_with_fixed_hyperparameters() -> None:
    X = simplex.sample(7, SPACE, np.random.default_rng(3))
    y = smooth(X) + np.random.default_rng(4).normal(0.0, 0.05, len(X))
    surrogate = GPSurrogate(SPACE, seed=0)
    surrogate.fit(X, y)
    loo = surrogate.loo_predict()
    model = surrogate.to_botorch()
    train_X, train_Y = model.train_inputs[0], model.train_targets
    for i in range(len(X)):
        keep = torch.arange(len(X)) != i
        held_out = copy.deepcopy(model)
        held_out.set_train_data(train_X[keep], train_Y[keep], strict=False)
        with torch.no_grad():
            post = held_out.posterior(train_X[i : i + 1], observation_noise=True)
        assert loo.mean[i] == pytest.approx(float(post.mean.detach()), abs=1e-6)
        assert loo.std[i] == pytest.approx(float(post.variance.detach().sqrt()), rel=1e-5)


def test_quadratic_matern_kernel_fits(fitted) -> None:
    _, X, y = fitted
    model = GPSurrogate(SPACE, kernel="quadratic+matern")
    model.fit(X, y)
    X_test = simplex.sample(100, SPACE, np.random.default_rng(1))
    assert np.sqrt(np.mean((model.predict(X_test).mean - smooth(X_test)) ** 2)) < 0.05
