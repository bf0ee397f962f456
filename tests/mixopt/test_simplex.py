import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixopt import DomainBounds, MixtureError, MixtureSpace, simplex

SPACE5 = MixtureSpace(("a", "b", "c", "d", "e"))
BOUNDED = MixtureSpace(
    ("a", "b", "c", "d"),
    {"a": DomainBounds(0.1, 0.4), "b": DomainBounds(0.0, 0.3), "d": DomainBounds.fixed_zero()},
)


@pytest.mark.parametrize("space", [SPACE5, BOUNDED])
@pytest.mark.parametrize("method", ["dirichlet", "sobol"])
def test_samples_are_feasible_and_seeded(space, method):
    X = simplex.sample(100, space, np.random.default_rng(3), method=method)
    assert X.shape == (100, space.dim)
    assert simplex.is_feasible(X, space).all()
    Y = simplex.sample(100, space, np.random.default_rng(3), method=method)
    np.testing.assert_array_equal(X, Y)


def test_dirichlet_sampling_is_uniform_on_the_simplex():
    X = simplex.sample(20000, SPACE5, np.random.default_rng(0))
    # Dirichlet(1,...,1) in 5 dims: each marginal is Beta(1, 4), mean 0.2, var 0.16/6.
    np.testing.assert_allclose(X.mean(axis=0), 0.2, atol=0.01)
    np.testing.assert_allclose(X.var(axis=0), 0.16 / 6, atol=0.003)


def test_unknown_method_is_refused():
    with pytest.raises(MixtureError, match="unknown sampling method"):
        simplex.sample(3, SPACE5, np.random.default_rng(0), method="grid")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=4, max_size=4))
def test_projection_is_feasible_and_idempotent(values):
    x = simplex.project(np.array(values), BOUNDED)
    assert simplex.is_feasible(x, BOUNDED).all()
    np.testing.assert_allclose(simplex.project(x, BOUNDED), x, atol=1e-9)


def test_projection_is_the_nearest_point():
    y = np.array([0.5, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(simplex.project(y, SPACE5)[0], 0.2)
    np.testing.assert_allclose(simplex.project([2.0, 0, 0, 0, 0], SPACE5)[0], [1, 0, 0, 0, 0])


def test_maximize_finds_an_interior_and_a_bounded_optimum():
    target = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    x, v = simplex.maximize(lambda Z: -((Z - target) ** 2).sum(1), SPACE5,
                            np.random.default_rng(0))
    np.testing.assert_allclose(x, target, atol=1e-4)
    assert v == pytest.approx(0.0, abs=1e-8)
    # the unconstrained optimum (all on "a") lies outside the bounds: a sits at its upper bound
    x, _ = simplex.maximize(lambda Z: Z[:, 0] + 0.5 * Z[:, 1], BOUNDED, np.random.default_rng(0))
    np.testing.assert_allclose(x, [0.4, 0.3, 0.3, 0.0], atol=1e-6)
