from __future__ import annotations

import numpy as np
import pytest
import torch
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.posteriors.gpytorch import GPyTorchPosterior

from mixopt import simplex
from mixopt.errors import FitError
from mixopt.mixture import DomainBounds, MixtureSpace
from mixopt.surrogates import monomials
from mixopt.surrogates.scheffe import ScheffeSurrogate

SPACE = MixtureSpace(("a", "b", "c", "d"))


def scheffe_truth(X: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return monomials.evaluate(X, monomials.scheffe_quadratic(X.shape[1])) @ coef


@pytest.fixture(scope="module")
def fitted() -> tuple[ScheffeSurrogate, np.ndarray]:
    coef = np.array([0.3, 0.5, 0.2, 0.4, 1.0, -0.8, 0.6, 0.4, -0.5, 1.2])  # 4 + 6 terms
    X = simplex.sample(30, SPACE, np.random.default_rng(0))
    model = ScheffeSurrogate(SPACE)
    model.fit(X, scheffe_truth(X, coef))
    return model, coef


def test_recovers_a_known_quadratic_surface(fitted) -> None:
    model, coef = fitted
    mean, cov = model.coefficients()
    np.testing.assert_allclose(mean, coef, atol=1e-2)
    Xq = simplex.sample(50, SPACE, np.random.default_rng(1))
    np.testing.assert_allclose(model.predict(Xq).mean, scheffe_truth(Xq, coef), atol=1e-3)
    assert np.all(np.diag(cov) >= 0)


def test_feature_count_has_no_intercept() -> None:
    assert len(monomials.scheffe_quadratic(5)) == 5 + 10
    assert () not in monomials.scheffe_quadratic(5)


def test_sample_coefficients_centre_on_posterior(fitted) -> None:
    model, _ = fitted
    draws = model.sample_coefficients(4000, np.random.default_rng(0))
    mean, cov = model.coefficients()
    assert draws.shape == (4000, 10)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=5 * np.sqrt(np.diag(cov)).max())


def test_two_observations_and_a_zero_domain() -> None:
    space = MixtureSpace(("a", "b", "c"), {"c": DomainBounds.fixed_zero()})
    model = ScheffeSurrogate(space)
    model.fit(np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]), np.array([0.2, 0.4]))
    pred = model.predict(np.array([[0.2, 0.8, 0.0]]))
    assert np.isfinite(pred.mean[0]) and pred.std[0] > 0
    assert model.recommend().mixture["c"] == 0.0


def test_botorch_posterior_matches_predict(fitted) -> None:
    model, _ = fitted
    bt = model.to_botorch()
    X = simplex.sample(6, SPACE, np.random.default_rng(2))
    post = bt.posterior(torch.tensor(X).reshape(2, 3, 4), observation_noise=True)
    assert isinstance(post, GPyTorchPosterior)
    assert post.mean.shape == (2, 3, 1)
    pred = model.predict(X)
    np.testing.assert_allclose(post.mean.reshape(-1).numpy(), pred.mean, atol=1e-9)
    # Equal up to the Cholesky jitter (1e-8 of the scale squared) on the diagonal.
    jitter_var = 1e-8 * model.posterior.scale**2
    np.testing.assert_allclose(
        post.variance.reshape(-1).numpy(), pred.std**2 + jitter_var, rtol=1e-6
    )
    assert bt.num_outputs == 1


def test_qlognei_runs_on_the_botorch_model(fitted) -> None:
    model, _ = fitted
    bt = model.to_botorch()
    X_baseline = torch.tensor(simplex.sample(8, SPACE, np.random.default_rng(3)))
    acqf = qLogNoisyExpectedImprovement(bt, X_baseline=X_baseline)
    X = torch.tensor(simplex.sample(10, SPACE, np.random.default_rng(4))).reshape(5, 2, 4)
    X.requires_grad_(True)
    values = acqf(X)
    assert values.shape == (5,) and torch.all(torch.isfinite(values))
    values.sum().backward()
    assert X.grad is not None and torch.all(torch.isfinite(X.grad))


def test_coefficients_before_fit_raise() -> None:
    with pytest.raises(FitError):
        ScheffeSurrogate(SPACE).coefficients()


def test_x_train_is_the_fitted_design(fitted) -> None:
    model, _ = fitted
    assert model.X_train.shape == (30, 4)
    assert ScheffeSurrogate(SPACE).X_train.shape == (0, 4)
