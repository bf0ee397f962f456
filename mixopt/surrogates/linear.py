"""The linear mixture model with a Bayesian treatment (name ``"linear"``).

``y = sum_i b_i w_i + noise`` (no intercept: on the simplex it is ``sum_i w_i``). Same Gaussian
prior, inferred noise and BoTorch model as `scheffe`; see
`mixopt.surrogates.bayesian_polynomial`. Its argmax is always a vertex of the bounded
simplex: it is a baseline that cannot represent synergy between domains.
"""

from __future__ import annotations

from mixopt.surrogates import monomials
from mixopt.surrogates.bayesian_polynomial import BayesianPolynomialSurrogate


class LinearSurrogate(BayesianPolynomialSurrogate):
    """Bayesian linear mixture model. Coefficients follow ``monomials.linear(d)``."""

    name = "linear"
    monomials_for = staticmethod(monomials.linear)


SURROGATES = (LinearSurrogate,)
