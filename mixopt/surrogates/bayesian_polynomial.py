"""The shared body of the Bayesian polynomial mixture models (`linear`, `scheffe`).

They differ only in their monomials; fitting, prediction, recommendation, the BoTorch model
and coefficient sampling are here, once. Each concrete class sets `name` and `monomials_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mixopt.errors import FitError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates import monomials as mono
from mixopt.surrogates.base import (
    Prediction,
    Recommendation,
    recommend_by_mean,
    validate_training_data,
)
from mixopt.surrogates.bayesian_regression import (
    NOISE_VAR_BOUNDS,
    BayesianLinearFit,
    fit_bayesian_linear,
)

if TYPE_CHECKING:
    from mixopt.surrogates.bayes_linear import BayesianLinearModel


class BayesianPolynomialSurrogate:
    """Bayesian regression of the score on polynomial features of the mixture.

    Prior groups are the monomial degrees (main effects, pairwise interactions), each with its
    own evidence-maximized prior variance. `min_noise_var` (standardized units) floors the
    inferred noise so that predictive stds stay positive when the data are interpolated;
    `noise_floor_var` (units of ``y**2``, e.g. what replicates show) floors it too, and a known
    `noise_var` (units of ``y**2``) fixes it.
    """

    name: ClassVar[str]
    monomials_for: ClassVar[Callable[[int], mono.Monomials]]

    def __init__(
        self, space: MixtureSpace, *, seed: int = 0, min_noise_var: float = NOISE_VAR_BOUNDS[0],
        noise_floor_var: float | None = None, noise_var: float | None = None,
    ) -> None:
        for label, value in (("min_noise_var", min_noise_var),
                             ("noise_floor_var", noise_floor_var), ("noise_var", noise_var)):
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise FitError(f"{self.name}: {label} must be a finite value >= 0, got {value}")
        self.space = space
        self.seed = seed
        self.min_noise_var = min_noise_var
        self.noise_floor_var = noise_floor_var
        self.noise_var = noise_var
        self.monomials: mono.Monomials = type(self).monomials_for(space.dim)
        self._groups = np.array([len(m) for m in self.monomials])
        self._fit: BayesianLinearFit | None = None
        self._X: np.ndarray | None = None

    @property
    def min_observations(self) -> int:
        # The Gaussian prior makes the posterior proper for any n; two points give y a scale.
        return 2

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit to `X: n x d` and `y: n`. Raises FitError (too few rows, NaN, singular)."""
        X, y = validate_training_data(X, y, self.space, self.min_observations, self.name)
        self._fit = fit_bayesian_linear(
            mono.evaluate(X, self.monomials), y, self._groups, min_noise_var=self.min_noise_var,
            noise_floor_var=self.noise_floor_var, noise_var=self.noise_var,
        )
        self._X = X

    @property
    def X_train(self) -> np.ndarray:
        """`n x d` mixtures of the last fit (`0 x d` before `fit`); the acquisition baseline."""
        return np.empty((0, self.space.dim)) if self._X is None else self._X.copy()

    @property
    def posterior(self) -> BayesianLinearFit:
        """The fitted posterior (standardized coefficients). Raises FitError before `fit`."""
        if self._fit is None:
            raise FitError(f"{self.name}: call fit() before using the model")
        return self._fit

    def predict(self, X: np.ndarray) -> Prediction:
        """Mean and std of a new observation at `X: m x d`. Raises FitError before `fit`."""
        fit = self.posterior
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.space.dim:
            raise FitError(f"{self.name}: X has {X.shape[1]} columns for {self.space.dim} domains")
        mean, latent, std = fit.predict(mono.evaluate(X, self.monomials))
        return Prediction(mean=mean, std=std, latent_std=latent)

    @property
    def noise_sd(self) -> float:
        """Observation-noise sd of the fit (units of `y`). Raises FitError before `fit`."""
        fit = self.posterior
        return float(fit.scale * np.sqrt(fit.noise_var))

    def recommend(self) -> Recommendation:
        """Argmax of the predictive mean over the space (observed mixtures among the starts)."""
        self.posterior  # noqa: B018 - raises FitError before fit
        return recommend_by_mean(self, self._X, seed=self.seed)

    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean (`p`) and covariance (`p x p`) of the coefficients in units of `y`.

        Coefficients follow `self.monomials`. The standardization offset is folded into the
        main effects (exact on the simplex, where ``sum(w) = 1``).
        """
        fit = self.posterior
        mean = fit.scale * fit.coef_mean
        mean[self._groups == 1] += fit.offset
        return mean, fit.scale**2 * fit.coef_cov

    def sample_coefficients(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n x p` posterior draws of the coefficients (units of `y`, as in `coefficients`)."""
        mean, cov = self.coefficients()
        return rng.multivariate_normal(mean, cov, size=n, method="eigh")

    def to_botorch(self) -> BayesianLinearModel:
        """A BoTorch model with this posterior (joint over points, higher is better)."""
        from mixopt.surrogates.bayes_linear import BayesianLinearModel

        fit = self.posterior
        return BayesianLinearModel(
            monomials=self.monomials,
            coef_mean=fit.coef_mean,
            coef_cov=fit.coef_cov,
            noise_var=fit.noise_var,
            offset=fit.offset,
            scale=fit.scale,
        )
