from __future__ import annotations

import numpy as np

from mixopt import simplex
from mixopt.mixture import MixtureSpace
from mixopt.surrogates import monomials
from mixopt.surrogates.bayesian_polynomial import BayesianPolynomialSurrogate
from mixopt.surrogates.linear import LinearSurrogate

SPACE = MixtureSpace(("a", "b", "c"))


def test_recovers_linear_coefficients_and_argmax_is_a_vertex() -> None:
    coef = np.array([0.2, 0.7, 0.4])
    X = simplex.sample(20, SPACE, np.random.default_rng(0))
    model = LinearSurrogate(SPACE)
    model.fit(X, X @ coef)
    np.testing.assert_allclose(model.coefficients()[0], coef, atol=1e-3)
    rec = model.recommend()
    assert rec.mixture["b"] > 1 - 1e-6


def test_shares_the_bayesian_polynomial_body() -> None:
    assert issubclass(LinearSurrogate, BayesianPolynomialSurrogate)
    assert LinearSurrogate(SPACE).monomials == monomials.linear(3)


def test_noise_is_inferred() -> None:
    rng = np.random.default_rng(1)
    X = simplex.sample(40, SPACE, rng)
    y = X @ np.array([0.2, 0.7, 0.4]) + 0.05 * rng.standard_normal(40)
    model = LinearSurrogate(SPACE)
    model.fit(X, y)
    std = model.predict(X[:5]).std
    assert np.all((std > 0.03) & (std < 0.08))
