"""The surrogate protocol: fit on observed mixtures, predict mean and std, recommend the best.

A surrogate is built for one `MixtureSpace` (``Cls(space, *, seed, **options)``), models one
objective that is to be **maximized** (callers negate a minimized metric), and works on
`n x d` arrays whose columns follow ``space.domains``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from mixopt import simplex
from mixopt.errors import FitError
from mixopt.mixture import Mixture, MixtureSpace


@dataclass(frozen=True)
class Prediction:
    """Predictive distribution at `m` query mixtures: `mean` and `std` are `m`-vectors.

    `std` is the std of a *new observation* (noise included) where the model has a noise
    term, so that predictive intervals are comparable with observed values. `latent_std`
    (`m`-vector, or None where the model has no such split) is the std of the mean function
    alone: ``std**2 = latent_std**2 + noise variance``.
    """

    mean: np.ndarray
    std: np.ndarray
    latent_std: np.ndarray | None = None


@dataclass(frozen=True)
class Recommendation:
    """The surrogate's best mixture (argmax of the predictive mean) with its predicted score."""

    mixture: Mixture
    mean: float
    std: float


@runtime_checkable
class Surrogate(Protocol):
    """What the optimizer needs from a model of the objective over mixtures."""

    name: ClassVar[str]
    space: MixtureSpace

    @property
    def X_train(self) -> np.ndarray:
        """The `n x d` mixtures of the last `fit` (`0 x d` before it); the acquisition baseline."""
        ...

    @property
    def min_observations(self) -> int:
        """Fewest observations `fit` accepts."""
        ...

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit to `X: n x d` observed mixtures and `y: n` scores.

        Raises:
            FitError: fewer than `min_observations` rows, non-finite values, or a fit that
                failed after every fallback.
        """
        ...

    def predict(self, X: np.ndarray) -> Prediction:
        """Predictive mean and std at `X: m x d`. Raises FitError before `fit`."""
        ...

    def recommend(self) -> Recommendation:
        """The mixture in the space with the highest predicted mean."""
        ...


def validate_training_data(
    X: np.ndarray, y: np.ndarray, space: MixtureSpace, min_observations: int, model: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return float64 copies of `X: n x d` and `y: n`, or raise FitError naming the problem."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.shape[1] != space.dim:
        raise FitError(f"{model}: X has {X.shape[1]} columns for {space.dim} domains")
    if len(X) != len(y):
        raise FitError(f"{model}: {len(X)} mixtures but {len(y)} scores")
    if len(y) < min_observations:
        raise FitError(
            f"{model}: needs at least {min_observations} observations for {space.dim} domains, "
            f"got {len(y)}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise FitError(f"{model}: observations contain NaN or infinite values")
    return X.copy(), y.copy()


def recommend_by_mean(
    surrogate: Surrogate, X_observed: np.ndarray, *, seed: int
) -> Recommendation:
    """Maximize `surrogate`'s predictive mean over its space (observed mixtures as candidates)."""
    rng = np.random.default_rng(seed)
    x, _ = simplex.maximize(
        lambda Z: surrogate.predict(Z).mean, surrogate.space, rng, extra_candidates=X_observed
    )
    pred = surrogate.predict(x[None, :])
    mixture = Mixture.from_vector(x, surrogate.space.domains, normalize=True)
    return Recommendation(mixture=mixture, mean=float(pred.mean[0]), std=float(pred.std[0]))
