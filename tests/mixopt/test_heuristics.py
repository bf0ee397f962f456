from __future__ import annotations

import numpy as np
import pytest

from mixopt import designs, heuristics
from mixopt.errors import FitError
from mixopt.mixture import DomainBounds, MixtureSpace

SPACE = MixtureSpace(("a", "b", "c"))
# Vertices a, b, c; exclude-one (b,c), (a,c), (a,b); the centroid.
X = designs.reference_seed(SPACE)
Y_OUT = np.array([0.5, 0.3, 0.1, 0.2, 0.4, 0.6, 0.45])
Y_IN = np.array([0.1, 0.3, 0.5, 0.6, 0.4, 0.2, 0.35])


def test_seed_design_layout() -> None:
    np.testing.assert_allclose(X[3], [0, 0.5, 0.5])
    np.testing.assert_allclose(X[6], [1 / 3, 1 / 3, 1 / 3])


def test_norm_by_hand() -> None:
    # Exclude-one scores: without a 0.2, without b 0.4, without c 0.6 -> min-max 0, .5, 1
    # -> raw 0.2, 0.15, 0.1 -> weights 4/9, 3/9, 2/9.
    m = heuristics.leave_one_out_norm(X, Y_OUT, SPACE)
    np.testing.assert_allclose(m.to_vector(SPACE.domains), [4 / 9, 3 / 9, 2 / 9])


def test_norm_needs_every_exclude_one_run() -> None:
    with pytest.raises(FitError, match="'c'"):
        heuristics.leave_one_out_norm(np.delete(X, 5, axis=0), np.delete(Y_OUT, 5), SPACE)


def test_alpha_out_by_hand() -> None:
    # Out-score sums per domain: a 0.5+.4+.6+.45 = 1.95, b 0.3+.2+.6+.45 = 1.55,
    # c 0.1+.2+.4+.45 = 1.15 -> min-max 1, .5, 0 -> weights 2/3, 1/3, 0.
    m = heuristics.alpha_out(X, Y_OUT, SPACE)
    np.testing.assert_allclose(m.to_vector(SPACE.domains), [2 / 3, 1 / 3, 0])


def test_alpha_balanced_mixes_in_and_out() -> None:
    # In-score sums: a .1+.4+.2+.35 = 1.05, b .3+.6+.2+.35 = 1.45, c .5+.6+.4+.35 = 1.85
    # -> min-max 0, .5, 1; balanced: .5, .5, .5 -> uniform.
    m = heuristics.alpha_balanced(X, Y_OUT, SPACE, y_in=Y_IN)
    np.testing.assert_allclose(m.to_vector(SPACE.domains), [1 / 3] * 3)
    m_in = heuristics.alpha_in(X, Y_OUT, SPACE, y_in=Y_IN)
    np.testing.assert_allclose(m_in.to_vector(SPACE.domains), [0, 1 / 3, 2 / 3])


def test_alpha_single_scale_discounts_single_runs() -> None:
    Xv = np.vstack([designs.vertices(SPACE), designs.centroid(SPACE)])
    y = np.array([0.9, 0.1, 0.1, 0.5])
    # Sums a 1.4, b 0.6, c 0.6 -> all weight on a; without the single runs all tie -> uniform.
    full = heuristics.alpha_out(Xv, y, SPACE, single_scale=1.0)
    none = heuristics.alpha_out(Xv, y, SPACE, single_scale=0.0)
    np.testing.assert_allclose(full.to_vector(SPACE.domains), [1, 0, 0])
    np.testing.assert_allclose(none.to_vector(SPACE.domains), [1 / 3] * 3)


def test_alpha_in_without_in_scores_raises() -> None:
    with pytest.raises(FitError, match="y_in"):
        heuristics.alpha_family(X, Y_OUT, SPACE, alpha=1.0)


def test_coli_matches_the_reference_formula() -> None:
    Z = (X > 1e-6).astype(float)
    G = np.linalg.inv(Z.T @ Z + 1e-3 * np.eye(3))
    s = np.maximum(G @ Z.T @ Y_OUT / np.diag(G), 0)
    m = heuristics.collinearity_ridge(X, Y_OUT, SPACE)
    np.testing.assert_allclose(m.to_vector(SPACE.domains), s / s.sum())


def test_coli_with_no_positive_effect_raises() -> None:
    with pytest.raises(FitError):
        heuristics.collinearity_ridge(X, -1.0 - Y_OUT, SPACE)


def test_fixed_zero_and_bounds_are_respected() -> None:
    space = MixtureSpace(
        ("a", "b", "c", "d"), {"d": DomainBounds.fixed_zero(), "a": DomainBounds(0, 0.3)}
    )
    # Observed on the space without the cap on `a`, so the exclude-one runs keep their shape.
    Xs = designs.reference_seed(MixtureSpace(space.domains, {"d": DomainBounds.fixed_zero()}))
    y = np.linspace(0.1, 0.7, len(Xs))
    for name, fn in heuristics.HEURISTICS.items():
        kwargs = {"y_in": y[::-1]} if name in ("alpha_in", "alpha_balanced") else {}
        m = fn(Xs, y, space, **kwargs)
        assert m["d"] == 0.0 and space.contains(m), name


def test_empty_or_nan_observations_raise() -> None:
    with pytest.raises(FitError):
        heuristics.collinearity_ridge(np.empty((0, 3)), np.empty(0), SPACE)
    with pytest.raises(FitError):
        heuristics.leave_one_out_norm(X, np.full(len(X), np.nan), SPACE)
