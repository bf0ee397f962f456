import numpy as np
import pytest

from mixopt import DomainBounds, MixtureError, MixtureSpace, designs, simplex

REF = MixtureSpace(("coco", "lisa", "geoqav", "sat", "scienceqa"))


def test_reference_seed_is_the_eleven_point_design():
    X = designs.reference_seed(REF)
    assert X.shape == (11, 5)
    np.testing.assert_allclose(X[:5], np.eye(5))
    np.testing.assert_allclose(X[5], [0, 0.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(X[10], np.full(5, 0.2))


def test_designs_respect_bounds_and_drop_duplicates():
    space = MixtureSpace(("a", "b", "c"), {"a": DomainBounds(0, 0.5),
                                          "c": DomainBounds.fixed_zero()})
    for name in ("vertices", "exclude_one", "centroid", "reference_seed"):
        X = designs.make(name, space)
        assert simplex.is_feasible(X, space).all(), name
        assert len({tuple(np.round(x, 9)) for x in X}) == len(X), name
    np.testing.assert_allclose(designs.centroid(space), [[0.5, 0.5, 0.0]])


@pytest.mark.parametrize("method", ["sobol", "dirichlet"])
def test_space_filling_is_seeded_and_feasible(method):
    a = designs.space_filling(REF, 7, seed=1, method=method, include_centroid=True)
    b = designs.space_filling(REF, 7, seed=1, method=method, include_centroid=True)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (7, 5) and simplex.is_feasible(a, REF).all()
    np.testing.assert_allclose(a[0], 0.2)


def test_user_list_is_validated_not_projected():
    X = designs.from_list(REF, [{"coco": 1.0}, {"sat": 0.5, "lisa": 0.5}])
    np.testing.assert_allclose(X[1], [0, 0.5, 0, 0.5, 0])
    with pytest.raises(MixtureError, match="design entry 1"):
        designs.from_list(REF, [{"coco": 1.0}, {"sat": 0.7, "lisa": 0.5}])
    bounded = MixtureSpace(("a", "b"), {"a": DomainBounds(0, 0.5)})
    with pytest.raises(MixtureError, match="outside the bounds"):
        designs.from_list(bounded, [{"a": 0.9, "b": 0.1}])


def test_unknown_design_lists_the_known_ones():
    with pytest.raises(MixtureError, match="known designs: vertices"):
        designs.make("latin", REF)
    with pytest.raises(MixtureError, match="needs a number"):
        designs.make("sobol", REF)
