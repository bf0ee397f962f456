"""Multi-fidelity GP: one objective over (mixture, fidelity), for proxies and checkpoints.

A fidelity `s` is a number in (0, 1]; 1 is the target (a full run of the target model). It may
be a fraction of the training budget (a checkpoint at 25% of the steps: 0.25) or a proxy's
relative cost (a 1M-parameter proxy of a 60M target: 1/60). The GP sees ``[x_1 .. x_d, s]``.

Kernels (``kernel=``):
    ``"linear-truncated"`` (default): BoTorch's `SingleTaskMultiFidelityGP` with its
        `LinearTruncatedFidelityKernel` (Wu et al. 2019): ``k = k_0(x, x') + c(s, s') k_1(x, x')``
        with ``c`` a polynomial in ``(1 - s)(1 - s')``, i.e. ``f(x, s) = g(x) + (1 - s)^p h(x)``:
        the target `g` plus a discrepancy that vanishes at ``s = 1``. It can carry a large
        offset between fidelities (RegMix's 1M losses sit about 1.1 nats above the 60M ones,
        two sds of the pooled values) that a stationary kernel on `s` would have to learn as
        a long-range trend.
    ``"product"``: `SingleTaskGP` with one Matérn 5/2 ARD kernel over ``[x, s]`` (the
        fidelity an extra input with its own lengthscale).

Outcomes are standardized over all fidelities; predictions are in the units of `y`, higher
is better (callers negate a minimized metric). Hyperparameters by MAP (`fit_gpytorch_mll`).
"""

from __future__ import annotations

import math
from typing import ClassVar

import gpytorch
import numpy as np
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP, SingleTaskMultiFidelityGP
from botorch.models.gpytorch import GPyTorchModel
from botorch.models.transforms.outcome import Standardize
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.mlls import ExactMarginalLogLikelihood

from mixopt.errors import FitError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import Prediction
from mixopt.surrogates.gp import _FIT_FAILURES, _JITTERS

TARGET_FIDELITY = 1.0
MF_KERNELS = ("linear-truncated", "product")


class MultiFidelityGP:
    """Exact GP on ``[mixture weights, fidelity]``.

    Args:
        space: the mixture space; columns of every `X` follow ``space.domains``.
        seed: seeds the fit's random restarts (no global RNG state is touched).
        kernel: one of `MF_KERNELS`.
        noise_var: known observation-noise variance (units of ``y**2``); None infers it.
        noise_floor_var: least noise variance an inferred noise may have (a fit that infers
            less is redone with the noise fixed there). Ignored when `noise_var` is given.

    Raises:
        FitError: unknown kernel, or a negative `noise_var` / `noise_floor_var`.
    """

    name: ClassVar[str] = "mf-gp"

    def __init__(
        self,
        space: MixtureSpace,
        seed: int = 0,
        *,
        kernel: str = "linear-truncated",
        noise_var: float | None = None,
        noise_floor_var: float | None = None,
    ) -> None:
        if kernel not in MF_KERNELS:
            raise FitError(f"mf-gp: unknown kernel {kernel!r}; choose one of "
                           f"{', '.join(MF_KERNELS)}")
        for label, value in (("noise_var", noise_var), ("noise_floor_var", noise_floor_var)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise FitError(f"mf-gp: {label} must be a finite value >= 0, got {value}")
        self.space = space
        self.seed = seed
        self.kernel = kernel
        self.noise_var = noise_var
        self.noise_floor_var = noise_floor_var
        self._fixed_noise_var: float | None = noise_var
        self._model: GPyTorchModel | None = None
        self._X: np.ndarray | None = None
        self._s: np.ndarray | None = None

    @property
    def min_observations(self) -> int:
        return 2

    @property
    def X_train(self) -> np.ndarray:
        """`n x d` training mixtures (`0 x d` before `fit`)."""
        return np.empty((0, self.space.dim)) if self._X is None else self._X.copy()

    @property
    def fidelity_train(self) -> np.ndarray:
        """`n` training fidelities (empty before `fit`)."""
        return np.empty(0) if self._s is None else self._s.copy()

    def _inputs(self, X: np.ndarray, fidelity: np.ndarray | float) -> np.ndarray:
        """`m x (d+1)` inputs from `X: m x d` and `fidelity: m` or a float, checked."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.space.dim:
            raise FitError(f"mf-gp: X has {X.shape[1]} columns for {self.space.dim} domains")
        s = np.broadcast_to(np.asarray(fidelity, dtype=float).reshape(-1), (len(X),)) \
            if np.ndim(fidelity) == 0 or np.size(fidelity) == 1 else \
            np.asarray(fidelity, dtype=float).reshape(-1)
        if len(s) != len(X):
            raise FitError(f"mf-gp: {len(X)} mixtures but {len(s)} fidelities")
        if not np.all((s > 0) & (s <= TARGET_FIDELITY)):
            bad = s[~((s > 0) & (s <= TARGET_FIDELITY))][0]
            raise FitError(f"mf-gp: fidelities must lie in (0, 1], got {bad}")
        return np.column_stack([X, s])

    def fit(self, X: np.ndarray, fidelity: np.ndarray, y: np.ndarray) -> None:
        """Fit to `X: n x d` mixtures observed at `fidelity: n` with scores `y: n`.

        Raises:
            FitError: mismatched or non-finite data, fewer than 2 rows, or every attempt
                (with more Cholesky jitter) failed.
        """
        Z = self._inputs(X, fidelity)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(Z):
            raise FitError(f"mf-gp: {len(Z)} mixtures but {len(y)} scores")
        if len(y) < self.min_observations:
            raise FitError(f"mf-gp: needs at least {self.min_observations} observations, "
                           f"got {len(y)}")
        if not (np.all(np.isfinite(Z)) and np.all(np.isfinite(y))):
            raise FitError("mf-gp: observations contain NaN or infinite values")
        self._fit_with_noise(Z, y, self.noise_var)
        floor = self.noise_floor_var
        if self.noise_var is None and floor is not None and floor > 0 \
                and float(self._noise_variance()) < floor:
            self._fit_with_noise(Z, y, floor)
        self._X, self._s = Z[:, :-1].copy(), Z[:, -1].copy()

    def _build(self, train_X: torch.Tensor, train_Y: torch.Tensor,
               train_Yvar: torch.Tensor | None) -> GPyTorchModel:
        d = train_X.shape[-1] - 1
        if self.kernel == "linear-truncated":
            return SingleTaskMultiFidelityGP(train_X, train_Y, train_Yvar=train_Yvar,
                                             data_fidelities=[d],
                                             outcome_transform=Standardize(m=1))
        covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=d + 1, use_rbf_kernel=False)
        return SingleTaskGP(train_X, train_Y, train_Yvar=train_Yvar, covar_module=covar,
                            outcome_transform=Standardize(m=1))

    def _fit_with_noise(self, Z: np.ndarray, y: np.ndarray, noise_var: float | None) -> None:
        train_X = torch.as_tensor(Z, dtype=torch.float64)
        train_Y = torch.as_tensor(y, dtype=torch.float64).unsqueeze(-1)
        train_Yvar = None if noise_var is None else torch.full_like(train_Y, max(noise_var, 1e-10))
        last: BaseException | None = None
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
                    with torch.no_grad():
                        post = model.posterior(train_X)
                        if not (torch.isfinite(post.mean).all()
                                and torch.isfinite(post.variance).all()):
                            raise RuntimeError("non-finite posterior at the training points")
                except _FIT_FAILURES as err:
                    last = err
                    continue
            self._model = model
            self._fixed_noise_var = noise_var
            return
        reason = str(last).strip().splitlines()[0] if last else "unknown"
        raise FitError(f"mf-gp: fit failed after {len(_JITTERS)} attempts "
                       f"({type(last).__name__}: {reason[:200]})") from last

    def _fitted(self) -> GPyTorchModel:
        if self._model is None:
            raise FitError("mf-gp: call fit() before predicting")
        return self._model

    def to_botorch(self) -> GPyTorchModel:
        """The fitted BoTorch model on ``[x, s]`` inputs (units of `y`). Raises FitError
        before `fit`."""
        return self._fitted()

    def _noise_variance(self) -> torch.Tensor:
        model = self._fitted()
        if self._fixed_noise_var is not None:
            return torch.tensor(float(self._fixed_noise_var), dtype=torch.float64)
        stdv = model.outcome_transform.stdvs.reshape(())
        return model.likelihood.noise.reshape(-1)[0].detach() * stdv**2

    @property
    def noise_sd(self) -> float:
        """Observation-noise sd of the fit (units of `y`). Raises FitError before `fit`."""
        return float(self._noise_variance().sqrt())

    def predict(self, X: np.ndarray, fidelity: np.ndarray | float = TARGET_FIDELITY) \
            -> Prediction:
        """Mean and sd of a new observation at `X: m x d` and `fidelity` (`m` or a float).

        Raises:
            FitError: before `fit`, or inputs of the wrong shape or outside (0, 1].
        """
        model = self._fitted()
        Z = torch.as_tensor(self._inputs(X, fidelity), dtype=torch.float64)
        with torch.no_grad():
            post = model.posterior(Z)
            mean = post.mean.reshape(-1)
            latent = post.variance.reshape(-1).clamp_min(0.0)
            var = latent + self._noise_variance()
        return Prediction(mean=mean.numpy().copy(), std=var.sqrt().numpy().copy(),
                          latent_std=latent.sqrt().numpy().copy())

    def correlation(self, X: np.ndarray, fidelity: np.ndarray | float) -> np.ndarray:
        """`m` posterior correlations of the latent ``f(x, fidelity)`` with ``f(x, 1)``.

        What an observation at a lower fidelity can tell about the target (1 at the target).
        """
        model = self._fitted()
        Z = self._inputs(X, fidelity)
        T = Z.copy()
        T[:, -1] = TARGET_FIDELITY
        pairs = torch.as_tensor(np.stack([Z, T], axis=1), dtype=torch.float64)  # m x 2 x (d+1)
        with torch.no_grad():
            cov = model.posterior(pairs).covariance_matrix  # m x 2 x 2
        var = torch.diagonal(cov, dim1=-2, dim2=-1).clamp_min(1e-30)
        return (cov[:, 0, 1] / (var[:, 0] * var[:, 1]).sqrt()).clamp(-1.0, 1.0).numpy().copy()
