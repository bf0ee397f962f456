"""Initial designs: sets of mixtures to train first, before any surrogate can be fitted.

Each function returns an `n x d` array in the order of `space.domains`; use
`space.to_mixtures` for `Mixture` objects. Points that bounds make infeasible are
projected onto the bounded simplex, and duplicates created that way are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mixopt import simplex
from mixopt.errors import MixtureError
from mixopt.mixture import MixtureSpace

DESIGNS = ("vertices", "exclude_one", "centroid", "reference_seed", "sobol", "dirichlet")
# Initial designs of a search (`initial_design`): what a study config and a benchmark accept.
INITIAL_DESIGNS = ("centroid+sobol", "sobol", "dirichlet", "reference_seed", "exclude_one",
                   "vertices+centroid")
# Initial design size of the model-based searches. Measured (docs/bench, 5 domains, 50
# studies, q=4): 4 points (centroid + 3 Sobol, one batch) beat d + 1 = 6: median regret/range
# 9.6% vs 14.0% after 8 trials, 3.9% vs 5.1% after 12, 2.0% vs 2.1% after 21.
DEFAULT_N_INIT = 4


def _unique_feasible(X: np.ndarray, space: MixtureSpace) -> np.ndarray:
    X = simplex.project(X, space)
    keep: list[np.ndarray] = []
    for x in X:
        if not any(np.allclose(x, k, atol=1e-9) for k in keep):
            keep.append(x)
    return np.vstack(keep) if keep else np.empty((0, space.dim))


def _free(space: MixtureSpace) -> np.ndarray:
    """Indices of domains that are not fixed at zero."""
    return np.flatnonzero(space.upper > 0)


def vertices(space: MixtureSpace) -> np.ndarray:
    """One mixture per domain with all weight on it (`d x d`, fewer when bounds merge some)."""
    return _unique_feasible(np.eye(space.dim)[_free(space)], space)


def exclude_one(space: MixtureSpace) -> np.ndarray:
    """For each domain, the uniform mixture over all the other domains."""
    free = _free(space)
    if len(free) < 2:
        return np.empty((0, space.dim))
    rows = []
    for i in free:
        x = np.zeros(space.dim)
        others = free[free != i]
        x[others] = 1.0 / len(others)
        rows.append(x)
    return _unique_feasible(np.vstack(rows), space)


def centroid(space: MixtureSpace) -> np.ndarray:
    """The uniform mixture over all domains not fixed at zero (`1 x d`)."""
    x = np.zeros(space.dim)
    free = _free(space)
    x[free] = 1.0 / len(free)
    return _unique_feasible(x[None, :], space)


def reference_seed(space: MixtureSpace) -> np.ndarray:
    """Vertices, exclude-one and centroid: the seed design of MoDoMoDo (11 points for 5 domains)."""
    return _unique_feasible(
        np.vstack([vertices(space), exclude_one(space), centroid(space)]), space
    )


def space_filling(
    space: MixtureSpace, n: int, *, seed: int, method: str = "sobol", include_centroid: bool = False
) -> np.ndarray:
    """`n` points spread over the bounded simplex (scrambled Sobol or Dirichlet(1))."""
    rng = np.random.default_rng(seed)
    if include_centroid and n > 0:
        return np.vstack([centroid(space), simplex.sample(n - 1, space, rng, method=method)])
    return simplex.sample(n, space, rng, method=method)


def from_list(space: MixtureSpace, mixtures: Sequence[Mapping[str, float]]) -> np.ndarray:
    """A user's own list of mixtures, validated against the space (no projection).

    Raises:
        MixtureError: a mixture is invalid or outside the bounds (its position is named).
    """
    X = np.empty((len(mixtures), space.dim))
    for i, m in enumerate(mixtures):
        try:
            X[i] = space.to_matrix([m])[0]
        except MixtureError as err:
            raise MixtureError(f"design entry {i}: {err}") from None
        if not space.contains(dict(zip(space.domains, X[i], strict=True))):
            raise MixtureError(f"design entry {i}: outside the bounds of the search space")
    return X


def make(name: str, space: MixtureSpace, *, n: int | None = None, seed: int = 0) -> np.ndarray:
    """A named design. `n` is required for ``sobol`` and ``dirichlet``.

    Raises:
        MixtureError: unknown name (the known ones are listed) or missing `n`.
    """
    fixed = {
        "vertices": vertices,
        "exclude_one": exclude_one,
        "centroid": centroid,
        "reference_seed": reference_seed,
    }
    if name in fixed:
        return fixed[name](space)
    if name in ("sobol", "dirichlet"):
        if n is None:
            raise MixtureError(f"design {name!r} needs a number of points n")
        return space_filling(space, n, seed=seed, method=name)
    raise MixtureError(f"unknown design {name!r}; known designs: {', '.join(DESIGNS)}")


def initial_design(kind: str, space: MixtureSpace, n: int, *, seed: int) -> np.ndarray:
    """`n x d` initial mixtures of `kind` (one of `INITIAL_DESIGNS`; fixed designs ignore n).

    Raises:
        MixtureError: unknown kind.
    """
    if kind == "centroid+sobol":
        return space_filling(space, n, seed=seed, method="sobol", include_centroid=True)
    if kind in ("sobol", "dirichlet"):
        return space_filling(space, n, seed=seed, method=kind)
    if kind == "vertices+centroid":
        return _unique_feasible(np.vstack([vertices(space), centroid(space)]), space)
    if kind in ("reference_seed", "exclude_one"):
        return make(kind, space)
    raise MixtureError(f"unknown initial design {kind!r}; known: {', '.join(INITIAL_DESIGNS)}")
