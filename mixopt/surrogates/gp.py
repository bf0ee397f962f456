"""Gaussian-process surrogate (BoTorch `SingleTaskGP`) of one objective over mixtures.

Representation: the GP sees all `d` weights of a mixture, which lie on the hyperplane
``sum(x) = 1``; no coordinate is dropped. Dropping one (the usual trick to remove the
linear dependence) would make that domain implicit, so an ARD kernel would treat it
differently from the others and the model would depend on which domain was dropped. With
all `d` weights the model is symmetric in the domains; the redundancy is harmless to a
kernel. A domain fixed at zero is a constant column that the kernel ignores.

Kernels (``kernel=``):
    ``"matern"``: ``ScaleKernel(Matern 5/2 ARD)`` with BoTorch 0.18's dimension-scaled
        log-normal lengthscale prior.
    ``"quadratic+matern"``: a Scheffé-GP hybrid, ``ScaleKernel(Polynomial(power=2)) +
        ScaleKernel(Matern 5/2 ARD)``. On the simplex a degree-2 polynomial kernel spans
        exactly the Scheffé quadratic model (``x_i`` and ``x_i x_j``), so the GP is a Bayesian
        quadratic response surface plus a smooth non-parametric residual.

Outcomes are standardized (`Standardize`); predictions are in the original units of `y`.
"""

from __future__ import annotations

import copy
import math
from typing import ClassVar

import gpytorch
import numpy as np
import torch
from botorch.exceptions.errors import ModelFittingError
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.kernels import Kernel, PolynomialKernel, ScaleKernel
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.priors import GammaPrior
from linear_operator.utils.errors import NanError, NotPSDError

from mixopt.errors import FitError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import (
    Prediction,
    Recommendation,
    recommend_by_mean,
    validate_training_data,
)
from mixopt.surrogates.options import KERNELS

# Cholesky jitter (float64) for each fit attempt: the first is GPyTorch's default.
_JITTERS = (None, 1e-6, 1e-4)
_FIT_FAILURES = (NotPSDError, NanError, ModelFittingError, RuntimeError, ValueError)


def _matern(d: int) -> Kernel:
    # BoTorch's legacy outputscale prior; standardized outcomes keep it weakly informative.
    return ScaleKernel(
        get_covar_module_with_dim_scaled_prior(ard_num_dims=d, use_rbf_kernel=False),
        outputscale_prior=GammaPrior(2.0, 0.15),
    )


def make_kernel(kernel: str, d: int) -> Kernel:
    """The covariance module called `kernel` for `d` weights. Raises FitError if unknown."""
    if kernel == "matern":
        return _matern(d)
    if kernel == "quadratic+matern":
        quadratic = ScaleKernel(PolynomialKernel(power=2), outputscale_prior=GammaPrior(2.0, 0.15))
        return quadratic + _matern(d)
    raise FitError(f"unknown GP kernel {kernel!r}; choose one of {', '.join(KERNELS)}")


def condition_on_own_mean(model, X: torch.Tensor, fixed_noise_var: float | None):
    """``model`` conditioned on observations at `X: p x d` equal to its posterior mean there
    (the kriging believer), hyperparameters kept; ``model`` itself is not changed. A model
    fitted with a fixed noise (``train_Yvar``, `fixed_noise_var`) needs the new points' noise.
    """
    with torch.no_grad():
        mean = model.posterior(X).mean
        kw = {} if fixed_noise_var is None else {
            "noise": torch.full_like(mean, max(fixed_noise_var, 1e-10))}
        return model.condition_on_observations(X, mean, **kw)


class GPSurrogate:
    """Exact GP on the `d` mixture weights, hyperparameters by MAP (`fit_gpytorch_mll`).

    Args:
        space: the mixture space; columns of every `X` follow ``space.domains``.
        seed: seeds the fit's random restarts (no global RNG state is touched).
        kernel: one of `KERNELS`.
        noise_var: known observation-noise variance in units of ``y**2``; ``None`` infers it.
        noise_floor_var: least noise variance (units of ``y**2``) an inferred noise may have,
            e.g. what replicates show; a fit that infers less is redone with the noise fixed
            there. Ignored when `noise_var` is given.

    Raises:
        FitError: unknown kernel or a negative `noise_var` / `noise_floor_var`.
    """

    name: ClassVar[str] = "gp"

    def __init__(
        self,
        space: MixtureSpace,
        *,
        seed: int = 0,
        kernel: str = "matern",
        noise_var: float | None = None,
        noise_floor_var: float | None = None,
    ) -> None:
        if kernel not in KERNELS:
            raise FitError(f"unknown GP kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
        for label, value in (("noise_var", noise_var), ("noise_floor_var", noise_floor_var)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise FitError(f"gp: {label} must be a finite value >= 0, got {value}")
        self.space = space
        self.seed = seed
        self.kernel = kernel
        self.noise_var = noise_var
        self.noise_floor_var = noise_floor_var
        # The noise variance held fixed in the last fit (known, or raised to the floor).
        self._fixed_noise_var: float | None = noise_var
        self._model: SingleTaskGP | None = None
        self._X: np.ndarray | None = None
        self._y: np.ndarray | None = None

    @property
    def min_observations(self) -> int:
        return 2

    @property
    def X_train(self) -> np.ndarray:
        """`n x d` training mixtures (`0 x d` before `fit`)."""
        return np.empty((0, self.space.dim)) if self._X is None else self._X.copy()

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit to `X: n x d` mixtures and `y: n` scores (higher is better).

        Retries a failed fit (not positive definite, NaN, optimizer failure) with more
        Cholesky jitter and a fresh initialization.

        Raises:
            FitError: invalid data, or every attempt failed.
        """
        X, y = validate_training_data(X, y, self.space, self.min_observations, "gp")
        self._fit_with_noise(X, y, self.noise_var)
        floor = self.noise_floor_var
        if self.noise_var is None and floor is not None and floor > 0:
            model = self._fitted_model()
            if float(self._noise_variance(model)) < floor:
                self._fit_with_noise(X, y, floor)

    def _fit_with_noise(self, X: np.ndarray, y: np.ndarray, noise_var: float | None) -> None:
        """One fit (with retries), the noise variance fixed at `noise_var` unless None."""
        train_X = torch.as_tensor(X, dtype=torch.float64)
        train_Y = torch.as_tensor(y, dtype=torch.float64).unsqueeze(-1)
        train_Yvar = (
            None
            if noise_var is None
            # A tiny floor keeps the Cholesky of noise-free replicates well conditioned.
            else torch.full_like(train_Y, max(noise_var, 1e-10))
        )
        last_error: BaseException | None = None
        for attempt, jitter in enumerate(_JITTERS):
            with torch.random.fork_rng():
                torch.manual_seed(self.seed + 1000 * attempt)
                try:
                    model = self._build(train_X, train_Y, train_Yvar)
                    mll = ExactMarginalLogLikelihood(model.likelihood, model)
                    if jitter is None:
                        fit_gpytorch_mll(mll)
                    else:
                        with gpytorch.settings.cholesky_jitter(double_value=jitter):
                            fit_gpytorch_mll(mll)
                    model.eval()
                    self._check_finite(model, train_X)
                except _FIT_FAILURES as err:
                    last_error = err
                    continue
            self._model, self._X, self._y = model, X, y
            self._fixed_noise_var = noise_var
            return
        reason = str(last_error).strip().splitlines()[0] if last_error else "unknown"
        raise FitError(
            f"gp: fit failed after {len(_JITTERS)} attempts "
            f"({type(last_error).__name__}: {reason[:200]})"
        ) from last_error

    def _build(
        self, train_X: torch.Tensor, train_Y: torch.Tensor, train_Yvar: torch.Tensor | None
    ) -> SingleTaskGP:
        return SingleTaskGP(
            train_X,
            train_Y,
            train_Yvar=train_Yvar,
            covar_module=make_kernel(self.kernel, train_X.shape[-1]),
            outcome_transform=Standardize(m=1),
        )

    @staticmethod
    def _check_finite(model: SingleTaskGP, train_X: torch.Tensor) -> None:
        with torch.no_grad():
            post = model.posterior(train_X)
            if not (torch.isfinite(post.mean).all() and torch.isfinite(post.variance).all()):
                raise NanError("non-finite posterior at the training points")

    def _fitted_model(self) -> SingleTaskGP:
        if self._model is None:
            raise FitError("gp: call fit() before predicting")
        return self._model

    def to_botorch(self) -> SingleTaskGP:
        """The fitted BoTorch model (outputs in the units of `y`, higher is better).

        Raises:
            FitError: before `fit`.
        """
        return self._fitted_model()

    def _noise_variance(self, model: SingleTaskGP) -> torch.Tensor:
        """Observation-noise variance of a new point, in units of ``y**2`` (scalar tensor)."""
        if self._fixed_noise_var is not None:
            return torch.tensor(float(self._fixed_noise_var), dtype=torch.float64)
        stdv = model.outcome_transform.stdvs.reshape(())
        return model.likelihood.noise.reshape(-1)[0].detach() * stdv**2

    def predict(self, X: np.ndarray) -> Prediction:
        """Predictive mean and std of a new observation (noise included) at `X: m x d`.

        Raises:
            FitError: before `fit`, or `X` with the wrong number of columns.
        """
        model = self._fitted_model()
        X = self._checked_inputs(X)
        with torch.no_grad():
            post = model.posterior(torch.as_tensor(X, dtype=torch.float64))
            mean = post.mean.reshape(-1)
            latent = post.variance.reshape(-1).clamp_min(0.0)
            var = latent + self._noise_variance(model)
        return Prediction(mean=mean.numpy().copy(), std=var.sqrt().numpy().copy(),
                          latent_std=latent.sqrt().numpy().copy())

    @property
    def noise_sd(self) -> float:
        """Observation-noise sd of the fit (units of `y`). Raises FitError before `fit`."""
        return float(self._noise_variance(self._fitted_model()).sqrt())

    def believe(self, X: np.ndarray) -> GPSurrogate:
        """A copy conditioned on observations at `X: p x d` equal to its posterior mean there
        (the kriging believer), hyperparameters and noise kept: the mean is unchanged
        everywhere, the variance shrinks near `X`. Training data and `loo_predict` stay the
        fit's. The fitted surrogate itself is not changed.

        Raises:
            FitError: before `fit`, or `X` with the wrong number of columns.
        """
        model = self._fitted_model()
        X = self._checked_inputs(X)
        believed = copy.copy(self)
        if len(X):
            believed._model = condition_on_own_mean(
                model, torch.as_tensor(X, dtype=torch.float64), self._fixed_noise_var)
        return believed

    def _checked_inputs(self, X: np.ndarray) -> np.ndarray:
        """`X` as a float `m x d` array; FitError when its columns are not the space's."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.space.dim:
            raise FitError(f"gp: X has {X.shape[1]} columns for {self.space.dim} domains")
        return X

    def loo_predict(self) -> Prediction:
        """Closed-form leave-one-out predictions at the `n` training points.

        Hyperparameters (and the outcome standardization) stay fixed. With
        ``K = K_f + diag(noise)`` and ``alpha = K^-1 (y - m)`` in standardized units:
        ``mean_i = y_i - alpha_i / [K^-1]_ii`` and ``var_i = 1 / [K^-1]_ii`` (a new observation
        at ``x_i``, noise included), then mapped back to the units of `y`.

        Returns:
            Prediction with `n`-vectors `mean` and `std`.

        Raises:
            FitError: before `fit`.
        """
        model = self._fitted_model()
        train_X = model.train_inputs[0]
        y_std = model.train_targets.reshape(-1)
        n = len(y_std)
        with torch.no_grad():
            K = model.covar_module(train_X).to_dense()
            noise = model.likelihood.noise.reshape(-1).expand(n)
            K = K + torch.diag(noise)
            prior_mean = model.mean_module(train_X).reshape(-1)
            L = _cholesky(K)
            K_inv = torch.cholesky_inverse(L)
            alpha = K_inv @ (y_std - prior_mean)
            diag = torch.diagonal(K_inv)
            mean = y_std - alpha / diag
            std = (1.0 / diag).sqrt()
            means = model.outcome_transform.means.reshape(())
            stdvs = model.outcome_transform.stdvs.reshape(())
        return Prediction(
            mean=(mean * stdvs + means).numpy().copy(), std=(std * stdvs).numpy().copy()
        )

    def recommend(self) -> Recommendation:
        """The mixture with the highest predictive mean. Raises FitError before `fit`."""
        self._fitted_model()
        return recommend_by_mean(self, self._X, seed=self.seed)


def _cholesky(K: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor of `K` (`n x n`), adding jitter until it succeeds."""
    scale = float(torch.diagonal(K).mean())
    for jitter in (0.0, 1e-10, 1e-8, 1e-6, 1e-4):
        L, info = torch.linalg.cholesky_ex(K + jitter * scale * torch.eye(len(K), dtype=K.dtype))
        if int(info) == 0:
            return L
    raise FitError("gp: kernel matrix is not positive definite even with jitter")


SURROGATES = (GPSurrogate,)
