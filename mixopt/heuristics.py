"""MoDoMoDo's heuristic mixture proposers (Norm, Coli, alpha family), as baselines.

Faithful to Algorithms 1-3 of the appendix of MoDoMoDo (Liang et al., arXiv 2505.24871v2):

* **alpha family** (Alg. 1, "Heuristic-Alpha"): each observed mixture credits its score to
  every domain it includes (a single-domain run's score is first multiplied by
  `single_scale`, the paper's alpha_single, whose value the paper does not give; we default to
  1). The per-domain sums of in-domain and out-of-domain scores are min-max normalized and
  combined as ``alpha * in + (1 - alpha) * out``, then normalized to sum 1.
  A_in is alpha = 1, A_out alpha = 0, A_bal alpha = 0.5. Note that min-max normalization gives
  the lowest-ranked domain weight 0 under A_in and A_out.
* **Coli** (Alg. 2, "Heuristic-Colinearity"): ridge regression without intercept
  (lambda = 1e-3) of the score on inclusion indicators ``w_i > 0``; each coefficient is divided
  by the diagonal of ``(X^T X + lambda I)^-1`` (the paper calls it a variance inflation
  factor; it is not the textbook VIF), clipped at 0, and normalized.
* **Norm** (Alg. 3, "Heuristic-Normalize"): from the exclude-one runs only, the scores are
  min-max normalized to ``s in [0, 1]`` and domain `i` gets ``0.2 - 0.1 s`` of the run that
  excludes it (a high score without `i` means `i` matters little), then normalized. All
  weights lie within a factor 2 of each other: Norm never strays far from uniform.

Our conventions: `y` is the objective (the paper's Out-Score); `y_in` the In-Score where the
alpha family needs it. A domain is *included* in a run when its weight exceeds 1e-6. Domains
fixed at zero (upper bound 0) are ignored and get weight 0; any other bounds are met by
projecting the result onto the bounded simplex. A min-max normalization over equal values
(0/0 in the paper) treats all domains as equal. Every function returns a `Mixture`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mixopt import simplex
from mixopt.errors import FitError
from mixopt.mixture import SUM_TOLERANCE, Mixture, MixtureSpace

COLI_RIDGE = 1e-3


def _observations(
    X: np.ndarray, y: np.ndarray, space: MixtureSpace, method: str
) -> tuple[np.ndarray, np.ndarray]:
    X = np.atleast_2d(np.asarray(X, dtype=float))
    y = np.asarray(y, dtype=float).reshape(-1)
    if X.shape[1] != space.dim:
        raise FitError(f"{method}: X has {X.shape[1]} columns for {space.dim} domains")
    if len(X) != len(y):
        raise FitError(f"{method}: {len(X)} mixtures but {len(y)} scores")
    if len(y) == 0:
        raise FitError(f"{method}: needs observed mixtures, got none")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise FitError(f"{method}: observations contain NaN or infinite values")
    return X, y


def _free(space: MixtureSpace) -> np.ndarray:
    """Boolean `d`-vector: domains not fixed at zero."""
    return space.upper > 0


def _min_max(values: np.ndarray) -> np.ndarray:
    spread = values.max() - values.min()
    if spread <= 0:
        return np.ones_like(values)
    return (values - values.min()) / spread


def _to_mixture(raw_free: np.ndarray, space: MixtureSpace, method: str) -> Mixture:
    """Normalize weights of the free domains and place them in the bounded simplex."""
    total = float(raw_free.sum())
    if not total > 0:
        raise FitError(f"{method}: every domain got weight 0; no mixture can be formed")
    w = np.zeros(space.dim)
    w[_free(space)] = raw_free / total
    if not space.is_unbounded:
        w = simplex.project(w[None, :], space)[0]
    return Mixture.from_vector(w, space.domains, normalize=True)


def alpha_family(
    X: np.ndarray,
    y: np.ndarray,
    space: MixtureSpace,
    *,
    alpha: float,
    y_in: np.ndarray | None = None,
    single_scale: float = 1.0,
) -> Mixture:
    """Alpha-family mixture from runs `X: n x d` with out-scores `y: n` (and in-scores `y_in`).

    Raises:
        FitError: no observations, non-finite values, `alpha` outside [0, 1], or ``alpha > 0``
            without `y_in`.
    """
    method = f"alpha heuristic (alpha={alpha})"
    if not 0.0 <= alpha <= 1.0:
        raise FitError(f"{method}: alpha must lie in [0, 1]")
    X, y_out = _observations(X, y, space, method)
    if alpha > 0 and y_in is None:
        raise FitError(f"{method}: needs in-domain scores y_in (only alpha=0 works without)")
    y_in_arr = np.zeros_like(y_out) if y_in is None else _observations(X, y_in, space, method)[1]
    free = _free(space)
    included = X[:, free] > SUM_TOLERANCE
    single = included.sum(axis=1) == 1
    factor = np.where(single, single_scale, 1.0)
    s_in = included.T.astype(float) @ (factor * y_in_arr)
    s_out = included.T.astype(float) @ (factor * y_out)
    combined = alpha * _min_max(s_in) + (1.0 - alpha) * _min_max(s_out)
    return _to_mixture(combined, space, method)


def alpha_in(
    X: np.ndarray,
    y: np.ndarray,
    space: MixtureSpace,
    *,
    y_in: np.ndarray,
    single_scale: float = 1.0,
) -> Mixture:
    """A_in: alpha = 1, favours the in-domain score (`y_in` required). See `alpha_family`."""
    return alpha_family(X, y, space, alpha=1.0, y_in=y_in, single_scale=single_scale)


def alpha_out(
    X: np.ndarray,
    y: np.ndarray,
    space: MixtureSpace,
    *,
    y_in: np.ndarray | None = None,
    single_scale: float = 1.0,
) -> Mixture:
    """A_out: alpha = 0, favours the out-of-domain score `y`. See `alpha_family`."""
    return alpha_family(X, y, space, alpha=0.0, y_in=y_in, single_scale=single_scale)


def alpha_balanced(
    X: np.ndarray,
    y: np.ndarray,
    space: MixtureSpace,
    *,
    y_in: np.ndarray,
    single_scale: float = 1.0,
) -> Mixture:
    """A_bal: alpha = 0.5, in- and out-of-domain equally (`y_in` required). See `alpha_family`."""
    return alpha_family(X, y, space, alpha=0.5, y_in=y_in, single_scale=single_scale)


def collinearity_ridge(
    X: np.ndarray, y: np.ndarray, space: MixtureSpace, *, ridge: float = COLI_RIDGE
) -> Mixture:
    """Coli: ridge on inclusion indicators of runs `X: n x d`, scores `y: n`.

    Raises:
        FitError: no observations, non-finite values, or no domain with a positive adjusted
            coefficient.
    """
    method = "coli heuristic"
    X, y = _observations(X, y, space, method)
    Z = (X[:, _free(space)] > SUM_TOLERANCE).astype(float)
    gram_inv = np.linalg.inv(Z.T @ Z + ridge * np.eye(Z.shape[1]))
    beta = gram_inv @ Z.T @ y
    adjusted = np.maximum(beta / np.diag(gram_inv), 0.0)
    return _to_mixture(adjusted, space, method)


def leave_one_out_norm(X: np.ndarray, y: np.ndarray, space: MixtureSpace) -> Mixture:
    """Norm: weights from the exclude-one runs among `X: n x d` (scores `y: n`).

    An exclude-one run of domain `i` has weight 0 on `i` and positive weight on every other
    domain not fixed at zero; repeated runs of one exclusion are averaged; other runs are
    ignored.

    Raises:
        FitError: fewer than two free domains, or an exclude-one run missing (named).
    """
    method = "norm heuristic"
    X, y = _observations(X, y, space, method)
    free = _free(space)
    names = [d for d, f in zip(space.domains, free, strict=True) if f]
    if len(names) < 2:
        raise FitError(f"{method}: needs at least two domains that are not fixed at zero")
    included = X[:, free] > SUM_TOLERANCE
    excluded_score = np.full(len(names), np.nan)
    missing = []
    for i, name in enumerate(names):
        pattern = np.ones(len(names), dtype=bool)
        pattern[i] = False
        rows = np.all(included == pattern, axis=1)
        if rows.any():
            excluded_score[i] = y[rows].mean()
        else:
            missing.append(name)
    if missing:
        raise FitError(f"{method}: no exclude-one run observed for domain(s) {missing}")
    # Equal exclude-one scores carry no ranking: min-max gives 1 everywhere, weights equal.
    raw = 0.2 - 0.1 * _min_max(excluded_score)
    return _to_mixture(raw, space, method)


HEURISTICS: dict[str, Callable[..., Mixture]] = {
    "alpha_in": alpha_in,
    "alpha_out": alpha_out,
    "alpha_balanced": alpha_balanced,
    "coli": collinearity_ridge,
    "norm": leave_one_out_norm,
}
