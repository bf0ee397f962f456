"""Numerical tools on the bounded simplex ``{x : lower <= x <= upper, sum(x) = 1}``.

Everything here works on `n x d` float arrays whose columns follow a `MixtureSpace`'s
domain order. Randomness always comes from an explicit `numpy.random.Generator` or seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

from mixopt.errors import MixtureError
from mixopt.mixture import SUM_TOLERANCE, MixtureSpace


def project(X: np.ndarray, space: MixtureSpace) -> np.ndarray:
    """Euclidean projection of each row of `X` (`n x d`) onto the bounded simplex.

    Solves ``x_i = clip(y_i - tau, l_i, u_i)`` with ``sum(x) = 1`` by bisection on `tau`.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    lo, hi = space.lower, space.upper
    out = np.empty_like(X)
    for k, y in enumerate(X):
        if is_feasible(y, space, atol=1e-12)[0]:  # keep exact points (vertices) exact
            out[k] = np.clip(y, lo, hi)
            continue
        a, b = float(np.min(y - hi)) - 1.0, float(np.max(y - lo)) + 1.0
        for _ in range(100):
            tau = 0.5 * (a + b)
            if np.clip(y - tau, lo, hi).sum() > 1.0:
                a = tau
            else:
                b = tau
        tau = 0.5 * (a + b)
        x = np.clip(y - tau, lo, hi)
        free = (y - tau > lo) & (y - tau < hi)
        if free.any():  # solve for tau exactly on the active set found by bisection
            tau = (y[free].sum() - (1.0 - x[~free].sum())) / free.sum()
            x = np.clip(y - tau, lo, hi)
        out[k] = _fix_sum(x, lo, hi)
    return out


def _fix_sum(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Spread the residual of ``sum(x) - 1`` over coordinates with room, so it is exact."""
    resid = 1.0 - x.sum()
    if abs(resid) < 1e-13:
        return x
    room = (hi - x) if resid > 0 else (x - lo)
    if abs(resid) > 0 and room.sum() > 0:
        x = x + resid * room / room.sum()
    return np.clip(x, lo, hi)


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
    sobol = (
        qmc.Sobol(d=space.dim, scramble=True, seed=rng) if method == "sobol" else None
    )
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
) -> tuple[np.ndarray, float]:
    """Maximize a vectorized function `fn: (m x d) -> (m,)` over the bounded simplex.

    Scores Sobol candidates (plus `extra_candidates`, e.g. the observed mixtures), then polishes
    the best `n_polish` with SLSQP under the sum-to-one constraint. Returns ``(x, fn(x))``.
    """
    C = sample(n_candidates, space, rng, method="sobol")
    if extra_candidates is not None and len(extra_candidates):
        C = np.vstack([C, project(extra_candidates, space)])
    values = np.asarray(fn(C), dtype=float)
    order = np.argsort(-values)
    best_x, best_v = C[order[0]].copy(), float(values[order[0]])
    if space.dim == 1:
        return best_x, best_v
    bounds = list(zip(space.lower, space.upper, strict=True))
    constraint = {"type": "eq", "fun": lambda x: x.sum() - 1.0, "jac": lambda x: np.ones_like(x)}
    for idx in order[:n_polish]:
        res = minimize(
            lambda x: -float(np.asarray(fn(x[None, :]))[0]),
            C[idx],
            method="SLSQP",
            bounds=bounds,
            constraints=[constraint],
            options={"maxiter": 100, "ftol": 1e-10},
        )
        x = project(res.x, space)[0]
        v = float(np.asarray(fn(x[None, :]))[0])
        if v > best_v:
            best_x, best_v = x, v
    return best_x, best_v
