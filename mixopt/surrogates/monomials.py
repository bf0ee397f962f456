"""Polynomial features of mixtures, described as monomials so numpy and torch share one spec.

A monomial is a tuple of column indices whose weights are multiplied: ``(i,)`` is `w_i`,
``(i, j)`` is `w_i w_j`, ``()`` is the constant 1. A feature map is a tuple of monomials.
"""

from __future__ import annotations

from itertools import combinations, combinations_with_replacement

import numpy as np

Monomials = tuple[tuple[int, ...], ...]


def linear(d: int) -> Monomials:
    """`w_1 .. w_d`: the linear mixture model (no intercept: ``sum(w) = 1`` plays its part)."""
    return tuple((i,) for i in range(d))


def scheffe_quadratic(d: int) -> Monomials:
    """`w_i` and `w_i w_j` for ``i < j``: Scheffé's canonical quadratic, ``d + d(d-1)/2`` terms.

    Identifiable on the simplex: the intercept and the squares `w_i^2` are linear
    combinations of these terms there (``1 = sum w``, ``w_i^2 = w_i - sum_{j!=i} w_i w_j``).
    """
    return linear(d) + tuple(combinations(range(d), 2))


def full_quadratic(d: int) -> Monomials:
    """`1`, `w_i`, `w_i w_j` (``i <= j``): ``1 + d + d(d+1)/2`` terms, redundant on the simplex."""
    return ((), *linear(d), *combinations_with_replacement(range(d), 2))


def evaluate(X: np.ndarray, monomials: Monomials) -> np.ndarray:
    """`n x p` feature matrix of `X: n x d` (``p = len(monomials)``)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    columns = [np.prod(X[:, list(m)], axis=1) for m in monomials]
    return np.stack(columns, axis=1) if columns else np.empty((len(X), 0))
