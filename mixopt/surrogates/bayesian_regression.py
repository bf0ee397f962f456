"""Conjugate Bayesian linear regression with evidence-maximized prior and noise variances.

Model, on standardized scores ``z = (y - offset) / scale``::

    z = Phi beta + eps,   beta_k ~ N(0, v_g(k)),   eps ~ N(0, s2)

`Phi` is an `n x p` feature matrix and `g(k)` the prior group of feature `k` (e.g. main effects
and interactions get their own prior variance, since interaction coefficients of a mixture
model are typically several times larger than main effects). The group variances `v_g` and the
noise variance `s2` maximize the marginal likelihood (type-II maximum likelihood), so the noise
is inferred rather than assumed. The coefficient posterior is then Gaussian in closed form.

Why our own model rather than sklearn's `BayesianRidge`: we need per-group prior variances,
a noise floor that keeps predictive stds positive when the data are interpolated, and the
coefficient posterior (mean, covariance) to build a BoTorch model and to sample coefficients;
and the fit is deterministic (no random restarts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.optimize import minimize

from mixopt.errors import FitError

# Bounds of the (standardized) hyperparameters searched by evidence maximization.
PRIOR_VAR_BOUNDS = (1e-4, 1e4)
NOISE_VAR_BOUNDS = (1e-6, 10.0)


@dataclass(frozen=True)
class BayesianLinearFit:
    """The fitted posterior. Coefficients are in standardized units; predictions are not.

    Attributes:
        coef_mean: `p` posterior mean of `beta`.
        coef_cov: `p x p` posterior covariance of `beta`.
        prior_var: `p` prior variance of each coefficient (its group's `v_g`).
        noise_var: `s2`, the inferred noise variance in standardized units.
        offset, scale: ``y = offset + scale * z``.
        log_evidence: log marginal likelihood of the standardized scores at the optimum.
    """

    coef_mean: np.ndarray
    coef_cov: np.ndarray
    prior_var: np.ndarray
    noise_var: float
    offset: float
    scale: float
    log_evidence: float

    def predict(self, Phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At features `Phi: m x p`: mean, std of the mean function, std of a new observation.

        All three are `m`-vectors in the original units of `y`.
        """
        mean = self.offset + self.scale * (Phi @ self.coef_mean)
        var_f = np.maximum(np.einsum("ij,jk,ik->i", Phi, self.coef_cov, Phi), 0.0)
        std_f = self.scale * np.sqrt(var_f)
        std_y = self.scale * np.sqrt(var_f + self.noise_var)
        return mean, std_f, std_y


def fit_bayesian_linear(
    Phi: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    min_noise_var: float = NOISE_VAR_BOUNDS[0],
    noise_floor_var: float | None = None,
    noise_var: float | None = None,
) -> BayesianLinearFit:
    """Fit the model to features `Phi: n x p` and scores `y: n`.

    `groups` is a `p`-vector of prior-group labels (any hashable ints). Constant `y` is
    allowed (the scale is then 1). All-zero feature columns are allowed: their coefficients
    keep the prior, and they contribute nothing where they are zero. `min_noise_var` floors the
    inferred noise in standardized units; `noise_floor_var` floors it in units of ``y**2``
    (e.g. what replicates show), and a known `noise_var` (units of ``y**2``) fixes it.

    Raises:
        FitError: non-finite inputs, mismatched shapes, or a singular posterior.
    """
    Phi = np.asarray(Phi, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    n, p = Phi.shape
    if len(y) != n or len(groups) != p:
        raise FitError(f"bayesian regression: Phi is {n}x{p}, y has {len(y)}, groups {len(groups)}")
    if not (np.all(np.isfinite(Phi)) and np.all(np.isfinite(y))):
        raise FitError("bayesian regression: features or scores are not finite")
    offset = float(np.mean(y))
    spread = float(np.std(y))
    # A constant y has no scale of its own: keep its units rather than divide by ~0.
    scale = spread if spread > 1e-12 * max(1.0, abs(offset)) else 1.0
    z = (y - offset) / scale
    _, group_index = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(group_index.max()) + 1 if p else 0

    lowest = max(min_noise_var, NOISE_VAR_BOUNDS[0], (noise_floor_var or 0.0) / scale**2)
    noise_bounds = (lowest, max(NOISE_VAR_BOUNDS[1], lowest))
    if noise_var is not None:
        fixed = max(noise_var / scale**2, 1e-12)
        noise_bounds = (fixed, fixed)
    bounds = [tuple(np.log(PRIOR_VAR_BOUNDS))] * n_groups + [tuple(np.log(noise_bounds))]

    def negative_log_evidence(theta: np.ndarray) -> float:
        prior_var = np.exp(theta[:n_groups])[group_index]
        K = (Phi * prior_var) @ Phi.T + np.exp(theta[-1]) * np.eye(n)
        try:
            chol = linalg.cho_factor(K, lower=True)
        except linalg.LinAlgError:
            return 1e25
        alpha = linalg.cho_solve(chol, z)
        log_det = 2.0 * np.sum(np.log(np.diag(chol[0])))
        return float(0.5 * z @ alpha + 0.5 * log_det + 0.5 * n * np.log(2 * np.pi))

    # The evidence is often bimodal ("it is noise" vs "it is signal"): local searches start
    # from the best few points of a deterministic log-grid, and the best optimum wins.
    grid = [
        np.log([prior0] * n_groups + [min(max(noise0, noise_bounds[0]), noise_bounds[1])])
        for prior0 in (0.1, 1.0, 10.0, 100.0, 1000.0)
        for noise0 in (1e-4, 1e-3, 1e-2, 0.1, 1.0)
    ]
    grid_values = [negative_log_evidence(theta) for theta in grid]
    starts = [grid[i] for i in np.argsort(grid_values, kind="stable")[:3]]
    best: tuple[float, np.ndarray] | None = None
    for theta0 in starts:
        res = minimize(negative_log_evidence, theta0, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(res.fun) and (best is None or res.fun < best[0]):
            best = (float(res.fun), res.x)
    if best is None or best[0] >= 1e25:
        raise FitError("bayesian regression: marginal likelihood could not be evaluated")
    theta = best[1]
    prior_var = np.exp(theta[:n_groups])[group_index]
    noise_var = float(np.exp(theta[-1]))

    precision = Phi.T @ Phi / noise_var + np.diag(1.0 / prior_var)
    try:
        chol = linalg.cho_factor(precision, lower=True)
    except linalg.LinAlgError as err:
        raise FitError(f"bayesian regression: singular posterior precision ({err})") from None
    coef_cov = linalg.cho_solve(chol, np.eye(p))
    coef_cov = 0.5 * (coef_cov + coef_cov.T)
    coef_mean = linalg.cho_solve(chol, Phi.T @ z / noise_var)
    return BayesianLinearFit(
        coef_mean=coef_mean,
        coef_cov=coef_cov,
        prior_var=prior_var,
        noise_var=noise_var,
        offset=offset,
        scale=scale,
        log_evidence=-best[0],
    )
