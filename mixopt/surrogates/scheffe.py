"""Scheffé's quadratic mixture model with a Bayesian treatment (name ``"scheffe"``).

``y = sum_i b_i w_i + sum_{i<j} b_ij w_i w_j + noise``: `d + d(d-1)/2` coefficients and no
intercept, which makes it identifiable on the simplex (the intercept and the squares are
linear in these terms there). Coefficients get Gaussian priors, main effects and
interactions each with their own evidence-maximized variance, and the noise is inferred
(`mixopt.surrogates.bayesian_regression`). The prior makes the fit proper with as few as two
observations, with duplicates, and with a domain fixed at zero (its features are all zero;
its coefficients keep the prior and never contribute inside the space).

`to_botorch()` gives the exact joint posterior as a BoTorch model, for qLogNEI ("scheffe-bo").
"""

from __future__ import annotations

from mixopt.surrogates import monomials
from mixopt.surrogates.bayesian_polynomial import BayesianPolynomialSurrogate


class ScheffeSurrogate(BayesianPolynomialSurrogate):
    """Bayesian Scheffé quadratic. Coefficients follow ``monomials.scheffe_quadratic(d)``."""

    name = "scheffe"
    monomials_for = staticmethod(monomials.scheffe_quadratic)


SURROGATES = (ScheffeSurrogate,)
