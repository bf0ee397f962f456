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
    ``"ar1"``: recursive co-kriging (Kennedy & O'Hagan 2000; Le Gratiet & Garnier 2014) over
        the observed fidelity levels ``s_1 < s_2 < ...``: a `GPSurrogate` (BoTorch
        `SingleTaskGP`) on the lowest level, then ``f_l(x) = a_l + b_l f_{l-1}(x) +
        delta_l(x)`` with `a_l`, `b_l` by least squares (``b_l = 1`` below 5 rows) and a GP
        `delta_l` on the residuals (from 2 rows; one row is matched by `a_l` alone). An
        unobserved target is predicted as the highest observed level, its sd widened by the
        spread of that level's values (the unknown offset). Only observed levels and the
        target can be predicted.

Outcomes are standardized over all fidelities; predictions are in the units of `y`, higher
is better (callers negate a minimized metric). Hyperparameters by MAP (`fit_gpytorch_mll`).
"""

from __future__ import annotations

import copy
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
from mixopt.surrogates.gp import _FIT_FAILURES, _JITTERS, GPSurrogate, condition_on_own_mean

TARGET_FIDELITY = 1.0
MF_KERNELS = ("linear-truncated", "product", "ar1")
# Levels closer than this are one fidelity.
_LEVEL_TOL = 1e-9
# The scale b of a level is fitted from this many rows on (fewer: b = 1, offset only); a
# slope from 3 or 4 targets swung the RegMix ranking (measured, 60 proxies + 3 targets).
_MIN_ROWS_FOR_SCALE = 5
# A level's discrepancy GP is fitted from this many rows on. With fewer, two target runs
# were predicted as "the proxy plus one offset", each off its own observed value by half
# their difference: on RegMix the policy recommended a row whose 60M run it had seen score
# 0.03 below another observed 60M run (measured, docs/PERFORMANCE.md).
_MIN_ROWS_FOR_DELTA = 2


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
        self._ar1: _AR1 | None = None
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
        self._X, self._s = Z[:, :-1].copy(), Z[:, -1].copy()
        if self.kernel == "ar1":
            self._model = None
            self._ar1 = _AR1(self.space, self.seed, self.noise_var, self.noise_floor_var)
            self._ar1.fit(Z[:, :-1], Z[:, -1], y)
            return
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
            if self._ar1 is not None:
                raise FitError("mf-gp: the ar1 model has no single BoTorch model")
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
        if self._ar1 is not None:
            return self._ar1.noise_sd
        return float(self._noise_variance().sqrt())

    def predict(self, X: np.ndarray, fidelity: np.ndarray | float = TARGET_FIDELITY) \
            -> Prediction:
        """Mean and sd of a new observation at `X: m x d` and `fidelity` (`m` or a float).

        Raises:
            FitError: before `fit`, or inputs of the wrong shape or outside (0, 1].
        """
        if self._ar1 is not None:
            Z = self._inputs(X, fidelity)
            return self._ar1.predict(Z[:, :-1], Z[:, -1])
        model = self._fitted()
        Z = torch.as_tensor(self._inputs(X, fidelity), dtype=torch.float64)
        with torch.no_grad():
            post = model.posterior(Z)
            mean = post.mean.reshape(-1)
            latent = post.variance.reshape(-1).clamp_min(0.0)
            var = latent + self._noise_variance()
        return Prediction(mean=mean.numpy().copy(), std=var.sqrt().numpy().copy(),
                          latent_std=latent.sqrt().numpy().copy())

    def believe(self, X: np.ndarray, fidelity: np.ndarray | float) -> MultiFidelityGP:
        """A copy conditioned on observations at `X: p x d` at `fidelity` (`p` or a float)
        equal to its posterior mean there: the kriging believer (Ginsbourger, Le Riche &
        Carraro 2010), for choosing a batch one point at a time and for pending points.

        Hyperparameters, noise and (``ar1``) the levels' offsets and scales stay the fit's:
        no refit, so the mean is unchanged everywhere and only the variances shrink near the
        believed points (``predict``, ``correlation`` and so the acquisition see that). With
        ``ar1`` a point at a level is believed by that level's own GP (the lowest level's,
        or the level's discrepancy GP), as a real row of that level is fitted; a level
        without a GP (one row) or the unobserved target by the nearest GP below it. The
        fitted model itself is not changed.

        Raises:
            FitError: before `fit`, or inputs of the wrong shape or outside (0, 1].
        """
        Z = self._inputs(X, fidelity)
        believed = copy.copy(self)
        if not len(Z):
            return believed
        if self._ar1 is not None:
            believed._ar1 = self._ar1.believe(Z[:, :-1], Z[:, -1])
            return believed
        believed._model = condition_on_own_mean(
            self._fitted(), torch.as_tensor(Z, dtype=torch.float64), self._fixed_noise_var)
        return believed

    def correlation(self, X: np.ndarray, fidelity: np.ndarray | float) -> np.ndarray:
        """`m` posterior correlations of the latent ``f(x, fidelity)`` with ``f(x, 1)``.

        What an observation at a lower fidelity can tell about the target (1 at the target).
        """
        if self._ar1 is not None:
            Z = self._inputs(X, fidelity)
            return self._ar1.correlation(Z[:, :-1], Z[:, -1])
        model = self._fitted()
        Z = self._inputs(X, fidelity)
        T = Z.copy()
        T[:, -1] = TARGET_FIDELITY
        pairs = torch.as_tensor(np.stack([Z, T], axis=1), dtype=torch.float64)  # m x 2 x (d+1)
        with torch.no_grad():
            cov = model.posterior(pairs).covariance_matrix  # m x 2 x 2
        var = torch.diagonal(cov, dim1=-2, dim2=-1).clamp_min(1e-30)
        return (cov[:, 0, 1] / (var[:, 0] * var[:, 1]).sqrt()).clamp(-1.0, 1.0).numpy().copy()


class _AR1:
    """Recursive co-kriging over observed fidelity levels (see the module docstring)."""

    def __init__(self, space: MixtureSpace, seed: int, noise_var: float | None,
                 noise_floor_var: float | None) -> None:
        self.space, self.seed = space, seed
        self.noise_var, self.noise_floor_var = noise_var, noise_floor_var
        self.levels: list[float] = []
        # Per level above the first: (a, b, delta GP or None, residual variance).
        self.links: list[tuple[float, float, GPSurrogate | None, float]] = []
        self.base: GPSurrogate | None = None
        self.top_spread = 0.0

    def _gp(self, X: np.ndarray, y: np.ndarray) -> GPSurrogate:
        gp = GPSurrogate(self.space, seed=self.seed, noise_var=self.noise_var,
                         noise_floor_var=self.noise_floor_var)
        gp.fit(X, y)
        return gp

    def fit(self, X: np.ndarray, s: np.ndarray, y: np.ndarray) -> None:
        levels = sorted({float(v) for v in s})
        first = np.abs(s - levels[0]) < _LEVEL_TOL
        if first.sum() < 2:
            raise FitError(f"mf-gp ar1: the lowest fidelity {levels[0]:g} needs at least 2 "
                           "observations")
        self.levels, self.links = levels, []
        self.base = self._gp(X[first], y[first])
        for level in levels[1:]:
            rows = np.abs(s - level) < _LEVEL_TOL
            prev = self._mean_var(X[rows], len(self.links))[0]
            if rows.sum() >= _MIN_ROWS_FOR_SCALE:
                b, a = np.polyfit(prev, y[rows], 1)
            else:
                b, a = 1.0, float(np.mean(y[rows] - prev))
            resid = y[rows] - a - b * prev
            delta = self._gp(X[rows], resid) if rows.sum() >= _MIN_ROWS_FOR_DELTA else None
            self.links.append((float(a), float(b), delta, float(np.var(resid))))
        top = np.abs(s - levels[-1]) < _LEVEL_TOL
        self.top_spread = float(np.std(y[top])) if top.sum() > 1 else float(np.std(y))

    def _mean_var(self, X: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Latent mean and variance of level `depth` (0: the lowest) at `X: m x d`."""
        assert self.base is not None
        p = self.base.predict(X)
        mean, var = p.mean, (p.latent_std if p.latent_std is not None else p.std) ** 2
        for a, b, delta, resid_var in self.links[:depth]:
            mean, var = a + b * mean, b * b * var
            if delta is not None:
                d = delta.predict(X)
                mean = mean + d.mean
                var = var + (d.latent_std if d.latent_std is not None else d.std) ** 2
            else:
                var = var + resid_var
        return mean, var

    def _depth(self, level: float) -> int | None:
        """Index of `level` among the fitted levels; None for an unobserved target."""
        for i, v in enumerate(self.levels):
            if abs(v - level) < _LEVEL_TOL:
                return i
        if level >= TARGET_FIDELITY:
            return None
        raise FitError(f"mf-gp ar1: fidelity {level:g} was not observed; levels: "
                       f"{', '.join(f'{v:g}' for v in self.levels)}")

    def _latent(self, X: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, var = np.empty(len(X)), np.empty(len(X))
        for level in np.unique(s):
            rows = s == level
            depth = self._depth(float(level))
            top = len(self.levels) - 1
            m, v = self._mean_var(X[rows], top if depth is None else depth)
            if depth is None:  # the target's offset from the highest level is unknown
                v = v + self.top_spread**2
            mean[rows], var[rows] = m, v
        return mean, var

    @property
    def noise_sd(self) -> float:
        assert self.base is not None
        return self.base.noise_sd

    def _gp_depth(self, level: float) -> int:
        """Depth of the GP that believes a point at `level`: the highest observed level at or
        below it that has a GP (the lowest level always has one)."""
        depth = sum(v <= level + _LEVEL_TOL for v in self.levels) - 1
        while depth > 0 and self.links[depth - 1][2] is None:
            depth -= 1
        return max(depth, 0)

    def believe(self, X: np.ndarray, s: np.ndarray) -> _AR1:
        """A copy whose GPs are conditioned on their own posterior means at the points
        (see `MultiFidelityGP.believe`)."""
        assert self.base is not None
        out = copy.copy(self)
        links = list(self.links)
        depths = np.array([self._gp_depth(float(v)) for v in s])
        for depth in np.unique(depths):
            rows = X[depths == depth]
            if depth == 0:
                out.base = self.base.believe(rows)
            else:
                a, b, delta, resid_var = links[depth - 1]
                assert delta is not None
                links[depth - 1] = (a, b, delta.believe(rows), resid_var)
        out.links = links
        return out

    def predict(self, X: np.ndarray, s: np.ndarray) -> Prediction:
        mean, var = self._latent(X, s)
        latent = np.sqrt(np.maximum(var, 0.0))
        return Prediction(mean=mean, std=np.sqrt(var + self.noise_sd**2), latent_std=latent)

    def correlation(self, X: np.ndarray, s: np.ndarray) -> np.ndarray:
        """corr(f_s, f_target) = prod(b) sd_s / sd_target along the chain (posterior, with
        the levels' GPs independent)."""
        target = np.full(len(X), TARGET_FIDELITY)
        _, var_t = self._latent(X, target)
        _, var_s = self._latent(X, s)
        depth_t = self._depth(TARGET_FIDELITY)
        depth_t = len(self.levels) - 1 if depth_t is None else depth_t
        out = np.ones(len(X))
        for level in np.unique(s):
            rows = s == level
            depth = self._depth(float(level))
            if depth is None or depth >= depth_t:
                continue
            gain = float(np.prod([b for _, b, _, _ in self.links[depth:depth_t]]))
            out[rows] = gain * var_s[rows] / np.sqrt(var_s[rows] * var_t[rows])
        return np.clip(out, -1.0, 1.0)
