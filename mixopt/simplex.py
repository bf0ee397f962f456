"""Numerical tools on the bounded simplex ``{x : lower <= x <= upper, sum(x) = 1}``.

Everything here works on `n x d` float arrays whose columns follow a `MixtureSpace`'s
domain order. Randomness always comes from an explicit `numpy.random.Generator` or seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mixopt.errors import MixtureError
from mixopt.mixture import SUM_TOLERANCE, MixtureSpace


def project(X: np.ndarray, space: MixtureSpace) -> np.ndarray:
    """Euclidean projection of each row of `X` (`n x d`) onto the bounded simplex.

    Solves ``x_i = clip(y_i - tau, l_i, u_i)`` with ``sum(x) = 1``: bisection on `tau` for all
    rows at once, then `tau` solved exactly on the active set. Feasible rows come back as given.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    lo, hi = space.lower, space.upper
    a = np.min(X - hi, axis=1) - 1.0
    b = np.max(X - lo, axis=1) + 1.0
    for _ in range(100):
        tau = 0.5 * (a + b)
        over = np.clip(X - tau[:, None], lo, hi).sum(axis=1) > 1.0
        a = np.where(over, tau, a)
        b = np.where(over, b, tau)
    tau = 0.5 * (a + b)
    Z = X - tau[:, None]
    free = (Z > lo) & (Z < hi)
    n_free = free.sum(axis=1)
    clamped = np.where(free, 0.0, np.clip(Z, lo, hi)).sum(axis=1)
    exact = (np.where(free, X, 0.0).sum(axis=1) - (1.0 - clamped)) / np.maximum(n_free, 1)
    tau = np.where(n_free > 0, exact, tau)
    out = _fix_sum(np.clip(X - tau[:, None], lo, hi), lo, hi)
    keep = is_feasible(X, space, atol=1e-12)  # keep exact points (vertices) exact
    out[keep] = np.clip(X[keep], lo, hi)
    return out


def _fix_sum(P: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Spread each row's residual ``1 - sum(x)`` over coordinates with room, so sums are exact."""
    resid = 1.0 - P.sum(axis=1, keepdims=True)
    room = np.where(resid > 0, hi - P, P - lo)
    total = room.sum(axis=1, keepdims=True)
    adjust = (np.abs(resid) >= 1e-13) & (total > 0)
    P = P + np.where(adjust, resid * room / np.where(total > 0, total, 1.0), 0.0)
    return np.clip(P, lo, hi)


def is_feasible(X: np.ndarray, space: MixtureSpace, atol: float = SUM_TOLERANCE) -> np.ndarray:
    """Boolean `n`-vector: each row sums to 1 and lies inside the bounds, within `atol`."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    return (
        (np.abs(X.sum(axis=1) - 1.0) <= atol)
        & np.all(X >= space.lower - atol, axis=1)
        & np.all(X <= space.upper + atol, axis=1)
    )


def _from_unit_cube(U: np.ndarray, space: MixtureSpace) -> np.ndarray:
    """Map points of ``[0,1)^d`` to the simplex via exponential spacings (Dirichlet(1) law)."""
    free = space.upper > 0
    E = -np.log1p(-np.clip(U[:, : int(free.sum())], 0.0, 1 - 1e-12))
    W = np.zeros((len(U), space.dim))
    W[:, free] = E / E.sum(axis=1, keepdims=True)
    lo = space.lower
    return lo + (1.0 - lo.sum()) * W


def sample(
    n: int, space: MixtureSpace, rng: np.random.Generator, *, method: str = "dirichlet"
) -> np.ndarray:
    """`n x d` points spread over the bounded simplex, uniform in law.

    `method` is ``"dirichlet"`` (i.i.d. Dirichlet(1)) or ``"sobol"`` (scrambled Sobol mapped by
    exponential spacings: lower discrepancy for designs). Upper bounds are met by rejection,
    falling back to projection of the remainder when the feasible region is tiny.

    Raises:
        MixtureError: unknown method.
    """
    if n <= 0:
        return np.empty((0, space.dim))
    if method not in ("dirichlet", "sobol"):
        raise MixtureError(f"unknown sampling method {method!r}; choose 'dirichlet' or 'sobol'")
    kept: list[np.ndarray] = []
    have, draws = 0, 0
    sobol = None
    if method == "sobol":
        from scipy.stats import qmc  # ~1 s to import: only designs that use it pay for it

        sobol = qmc.Sobol(d=space.dim, scramble=True, seed=rng)
    while have < n and draws < 50:
        m = max(2 * (n - have), 64)
        if sobol is not None:
            m = 1 << int(np.ceil(np.log2(m)))
            U = sobol.random(m)
        else:
            U = rng.random((m, space.dim))
        X = _from_unit_cube(U, space)
        X = X[is_feasible(X, space)]
        kept.append(X)
        have += len(X)
        draws += 1
    X = np.vstack(kept)[:n] if have else np.empty((0, space.dim))
    if len(X) < n:  # the upper bounds cut away almost everything: project what is left
        U = rng.random((n - len(X), space.dim))
        X = np.vstack([X, project(_from_unit_cube(U, space), space)])
    return X


def maximize(
    fn: Callable[[np.ndarray], np.ndarray],
    space: MixtureSpace,
    rng: np.random.Generator,
    *,
    n_candidates: int = 2048,
    n_polish: int = 4,
    extra_candidates: np.ndarray | None = None,
    rounds: int = 32,
    steps_per_round: int = 48,
) -> tuple[np.ndarray, float]:
    """Maximize a vectorized function `fn: (m x d) -> (m,)` over the bounded simplex.

    Scores Sobol candidates (plus `extra_candidates`, e.g. the observed mixtures), then refines
    the best `n_polish` by a batched local search: each round scores `steps_per_round` random
    steps around every incumbent (projected onto the bounded simplex) in one call of `fn`, with
    a step size shrinking from 0.1 to ~1e-6. One call per round rather than one per point
    keeps model-based objectives (a GP's mean) cheap. Returns ``(x, fn(x))``.
    """
    C = sample(n_candidates, space, rng, method="sobol")
    if extra_candidates is not None and len(extra_candidates):
        C = np.vstack([C, project(extra_candidates, space)])
    values = np.asarray(fn(C), dtype=float)
    order = np.argsort(-values)[:n_polish]
    best, best_v = C[order].copy(), values[order].copy()
    free = space.upper > space.lower
    if free.sum() < 2:
        return best[0], float(best_v[0])
    k, d = best.shape
    decay = (1e-5) ** (1.0 / max(rounds - 1, 1))
    radius = 0.1
    for _ in range(rounds):
        steps = rng.normal(size=(k, steps_per_round, d)) * free
        steps -= steps.sum(axis=2, keepdims=True) / free.sum() * free  # stay on the hyperplane
        trial = project((best[:, None, :] + radius * steps).reshape(-1, d), space)
        trial_v = np.asarray(fn(trial), dtype=float).reshape(k, steps_per_round)
        j = np.argmax(trial_v, axis=1)
        better = trial_v[np.arange(k), j] > best_v
        best[better] = trial.reshape(k, steps_per_round, d)[np.arange(k), j][better]
        best_v[better] = trial_v[np.arange(k), j][better]
        radius *= decay
    i = int(np.argmax(best_v))
    return best[i], float(best_v[i])
