"""MoDoMoDo's quadratic response surface (name ``"quadsurface"``): the reference baseline.

Reproduces Algorithm 4 ("QuadSurface") of MoDoMoDo (arXiv 2505.24871, appendix):

* features ``[1, w, w (x) w]``; we use the upper triangle of the outer product including the
  squares (``1 + d + d(d+1)/2`` terms; the reference writes the full Kronecker product, which
  spans the same functions). On the simplex these are redundant, so ordinary least squares
  uses `numpy.linalg.lstsq`, i.e. the minimum-norm solution when underdetermined;
* five seeded random 80/20 train/test splits; each fits OLS on its 80%, and the split with
  the best test R^2 wins. Like the reference we keep *that split's* model (no refit on all
  data). A test set with constant scores has no R^2; if no split has one, the lowest test
  MSE wins;
* proposals: candidates drawn from one Gaussian fitted to the observed mixtures (mean and MLE
  covariance of `X`, plus 1e-6 on the diagonal like scikit-learn's `GaussianMixture`), rows
  with a negative entry dropped, rows renormalized to sum 1, top-k by predicted score.

Additions of ours: candidates respect the space's bounds (domains fixed at zero are never
sampled; infeasible rows are dropped, and uniform samples of the bounded simplex top up the
pool when fewer than `min_candidates` remain), and `propose` skips candidates within 1e-3
(Euclidean) of observed or pending mixtures and of each other.

Predictive std: the reference has none. `predict` returns, everywhere, the RMS residual of the
chosen model on its own training split, floored at ``1e-6 * (1 + std(y))`` so it is positive
when that split was interpolated (with few points it usually is: then the std says little),
and at ``sqrt(noise_floor_var)`` when one is given (e.g. the noise that replicates show).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from mixopt import simplex
from mixopt.errors import FitError
from mixopt.mixture import Mixture, MixtureSpace
from mixopt.surrogates import monomials as mono
from mixopt.surrogates.base import Prediction, Recommendation, validate_training_data

EXCLUSION_RADIUS = 1e-3


class QuadSurfaceSurrogate:
    """The reference's OLS quadratic with best-of-splits selection and Gaussian candidates.

    Options: `n_splits` (5), `test_fraction` (0.2), `n_candidates` (10,000 Gaussian draws),
    `min_candidates` (256 feasible candidates before topping up with uniform samples),
    `noise_floor_var` (None: a floor of the predictive variance, units of ``y**2``).
    """

    name: ClassVar[str] = "quadsurface"

    def __init__(
        self,
        space: MixtureSpace,
        *,
        seed: int = 0,
        n_splits: int = 5,
        test_fraction: float = 0.2,
        n_candidates: int = 10_000,
        min_candidates: int = 256,
        noise_floor_var: float | None = None,
    ) -> None:
        if n_splits < 1 or not 0.0 < test_fraction < 1.0:
            raise FitError(f"{self.name}: need n_splits >= 1 and 0 < test_fraction < 1")
        if noise_floor_var is not None and not (np.isfinite(noise_floor_var)
                                                and noise_floor_var >= 0):
            raise FitError(f"{self.name}: noise_floor_var must be >= 0, got {noise_floor_var}")
        self.noise_floor_var = noise_floor_var
        self.space = space
        self.seed = seed
        self.n_splits = n_splits
        self.test_fraction = test_fraction
        self.n_candidates = n_candidates
        self.min_candidates = min_candidates
        self.monomials = mono.full_quadratic(space.dim)
        self._coef: np.ndarray | None = None
        self._residual_std = 0.0
        self._X = np.empty((0, space.dim))
        self.test_r2: float = float("nan")

    @property
    def X_train(self) -> np.ndarray:
        """The `n x d` mixtures of the last `fit`."""
        return self._X

    @property
    def min_observations(self) -> int:
        # Two to train on and one to test; the reference itself started from 11 points.
        return 3

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit to `X: n x d`, `y: n` by the best of `n_splits` random splits (seeded).

        Raises:
            FitError: fewer than 3 rows or non-finite values.
        """
        X, y = validate_training_data(X, y, self.space, self.min_observations, self.name)
        rng = np.random.default_rng(self.seed)
        Phi = mono.evaluate(X, self.monomials)
        n = len(y)
        n_test = min(n - 2, max(1, round(self.test_fraction * n)))
        best: tuple[tuple[float, float], np.ndarray, np.ndarray, float] | None = None
        for _ in range(self.n_splits):
            order = rng.permutation(n)
            test, train = order[:n_test], order[n_test:]
            coef = np.linalg.lstsq(Phi[train], y[train], rcond=None)[0]
            resid_test = y[test] - Phi[test] @ coef
            sse = float(resid_test @ resid_test)
            sst = float(np.sum((y[test] - y[test].mean()) ** 2))
            r2 = 1.0 - sse / sst if sst > 0 else float("nan")
            # Rank by R^2 where it exists, else by test MSE (any R^2 beats none).
            key = (r2 if np.isfinite(r2) else -np.inf, -sse / len(test))
            if best is None or key > best[0]:
                best = (key, coef, train, r2)
        assert best is not None
        _, coef, train, r2 = best
        resid_train = y[train] - Phi[train] @ coef
        rms = float(np.sqrt(np.mean(resid_train**2)))
        self._coef = coef
        self._residual_std = max(rms, 1e-6 * (1.0 + float(np.std(y))),
                                 float(np.sqrt(self.noise_floor_var or 0.0)))
        self._X = X
        self.test_r2 = r2

    def _require_fit(self) -> np.ndarray:
        if self._coef is None:
            raise FitError(f"{self.name}: call fit() before using the model")
        return self._coef

    def predict(self, X: np.ndarray) -> Prediction:
        """Mean at `X: m x d` and the constant residual std. Raises FitError before `fit`."""
        coef = self._require_fit()
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.space.dim:
            raise FitError(f"{self.name}: X has {X.shape[1]} columns for {self.space.dim} domains")
        mean = mono.evaluate(X, self.monomials) @ coef
        return Prediction(mean=mean, std=np.full(len(X), self._residual_std))

    @property
    def noise_sd(self) -> float:
        """The constant predictive std (the residual RMS, floored). FitError before `fit`."""
        self._require_fit()
        return self._residual_std

    def candidates(self) -> np.ndarray:
        """The reference's candidate pool (`c x d`), feasible in the space; seeded."""
        self._require_fit()
        rng = np.random.default_rng(self.seed)
        free = self.space.upper > 0
        Xf = self._X[:, free]
        mean = Xf.mean(axis=0)
        cov = np.atleast_2d(np.cov(Xf, rowvar=False, bias=True)) + 1e-6 * np.eye(int(free.sum()))
        draws = rng.multivariate_normal(mean, cov, size=self.n_candidates, method="eigh")
        draws = draws[np.all(draws >= 0, axis=1) & (draws.sum(axis=1) > 0)]
        C = np.zeros((len(draws), self.space.dim))
        C[:, free] = draws / draws.sum(axis=1, keepdims=True)
        C = C[simplex.is_feasible(C, self.space)]
        if len(C) < self.min_candidates:
            C = np.vstack([C, simplex.sample(self.min_candidates - len(C), self.space, rng)])
        return C

    def propose(self, k: int, *, X_pending: np.ndarray | None = None) -> np.ndarray:
        """Top-`k` candidates by predicted score (`k x d`, fewer if the pool runs out).

        Skips candidates within 1e-3 of observed or pending (`X_pending: m x d`) mixtures
        and of candidates already taken. Raises FitError before `fit`.
        """
        avoid = [self._X] if X_pending is None else [self._X, np.atleast_2d(X_pending)]
        return self._top(k, np.vstack(avoid))

    def _top(self, k: int, avoid: np.ndarray) -> np.ndarray:
        C = self.candidates()
        order = np.argsort(-self.predict(C).mean, kind="stable")
        taken: list[np.ndarray] = []
        for x in C[order]:
            if len(taken) == k:
                break
            near = np.vstack([avoid, *taken]) if taken else avoid
            if len(near) and np.min(np.linalg.norm(near - x, axis=1)) < EXCLUSION_RADIUS:
                continue
            taken.append(x)
        return np.vstack(taken) if taken else np.empty((0, self.space.dim))

    def recommend(self) -> Recommendation:
        """The top-1 candidate of the reference procedure (observed mixtures not excluded)."""
        x = self._top(1, np.empty((0, self.space.dim)))[0]
        pred = self.predict(x[None, :])
        mixture = Mixture.from_vector(x, self.space.domains, normalize=True)
        return Recommendation(mixture=mixture, mean=float(pred.mean[0]), std=float(pred.std[0]))


SURROGATES = (QuadSurfaceSurrogate,)
