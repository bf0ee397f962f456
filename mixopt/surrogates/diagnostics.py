"""Leave-one-out diagnostics of a surrogate: does it predict held-out results at all?"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mixopt.errors import FitError
from mixopt.surrogates.base import Prediction, Surrogate

Z90 = 1.645  # two-sided 90% normal interval


@dataclass(frozen=True)
class LOODiagnostics:
    """Leave-one-out results for `n` observations.

    Attributes:
        mean, std: `n`-vectors; entry `i` is the prediction for `y[i]` by a model fitted
            without observation `i` (std of a new observation).
        rmse: root mean squared LOO error.
        spearman: rank correlation of LOO means with `y` (nan when either is constant).
        coverage90: fraction of `y` inside ``mean +- 1.645 std``.
        mean_baseline_rmse: LOO RMSE of predicting the mean of the other `n - 1` scores.
        worse_than_mean: `rmse` exceeds `mean_baseline_rmse` (beyond rounding).
    """

    mean: np.ndarray
    std: np.ndarray
    rmse: float
    spearman: float
    coverage90: float
    mean_baseline_rmse: float
    worse_than_mean: bool

    def summary(self, unit: str = "points") -> str:
        """One line for a log or a report; `unit` names what was left out (e.g. trials)."""
        rho = (
            "spearman n/a (constant predictions or scores)"
            if math.isnan(self.spearman)
            else f"spearman {self.spearman:.3f}"
        )
        line = (
            f"LOO over {len(self.mean)} {unit}: rmse {self.rmse:.4g} "
            f"(predicting the mean: {self.mean_baseline_rmse:.4g}), {rho}, "
            f"90% coverage {self.coverage90:.0%}"
        )
        if self.worse_than_mean:
            line += f"; WORSE than predicting the mean of the other {unit}"
        return line


def loo(
    surrogate_factory: Callable[[], Surrogate], X: np.ndarray, y: np.ndarray, *,
    fitted: Surrogate | None = None,
) -> LOODiagnostics:
    """Leave-one-out predictions of fresh surrogates from `surrogate_factory` on `X: n x d`, `y: n`.

    If a surrogate fitted on all points has ``loo_predict()`` returning a `Prediction` (or a
    ``(mean, std)`` pair) of closed-form LOO values, e.g. the GP, that is used instead of `n`
    refits (the GP keeps its hyperparameters fixed there, so it is slightly optimistic).
    `fitted`, a surrogate already fitted to exactly `X, y`, saves that fit.

    Raises:
        FitError: fewer than 3 observations, mismatched or non-finite inputs, or a refit
            that failed (e.g. `n - 1` is below the surrogate's `min_observations`).
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    y = np.asarray(y, dtype=float).reshape(-1)
    n = len(y)
    if n < 3:
        raise FitError(f"leave-one-out needs at least 3 observations, got {n}")
    if len(X) != n:
        raise FitError(f"leave-one-out: {len(X)} mixtures but {n} scores")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise FitError("leave-one-out: observations contain NaN or infinite values")

    full = fitted if fitted is not None else surrogate_factory()
    loo_predict = getattr(full, "loo_predict", None)
    if callable(loo_predict):
        if fitted is None:
            full.fit(X, y)
        result = loo_predict()
        loo_mean, loo_std = (
            (result.mean, result.std) if isinstance(result, Prediction) else result
        )
        mean, std = np.asarray(loo_mean, dtype=float), np.asarray(loo_std, dtype=float)
    else:
        mean, std = np.empty(n), np.empty(n)
        for i in range(n):
            keep = np.arange(n) != i
            model = surrogate_factory()
            model.fit(X[keep], y[keep])
            pred = model.predict(X[i : i + 1])
            mean[i], std[i] = pred.mean[0], pred.std[0]
    return loo_diagnostics(mean, std, y)


def loo_diagnostics(mean: np.ndarray, std: np.ndarray, y: np.ndarray) -> LOODiagnostics:
    """The diagnostics of leave-one-out predictions `mean`, `std` (`n`-vectors: entry `i`
    from a model fitted without observation `i`) of the scores `y: n` (n >= 2)."""
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    n = len(y)
    rmse = float(np.sqrt(np.mean((mean - y) ** 2)))
    others_mean = (y.sum() - y) / (n - 1)
    baseline = float(np.sqrt(np.mean((others_mean - y) ** 2)))
    if np.ptp(mean) == 0 or np.ptp(y) == 0:
        rho = float("nan")  # a rank correlation with a constant is undefined
    else:
        from scipy import stats  # ~1 s to import: only when a LOO is computed

        rho = float(stats.spearmanr(mean, y).statistic)
    coverage = float(np.mean(np.abs(y - mean) <= Z90 * std))
    return LOODiagnostics(
        mean=mean,
        std=std,
        rmse=rmse,
        spearman=rho,
        coverage90=coverage,
        mean_baseline_rmse=baseline,
        # Equal within rounding (e.g. a model that predicts the training mean) is not worse.
        worse_than_mean=rmse > baseline * (1 + 1e-9) + 1e-15,
    )
