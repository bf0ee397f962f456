import json

import numpy as np
import pytest

from mixopt import DomainBounds, Mixture, MixtureError, MixtureSpace

DOMAINS = ("coco", "lisa", "geoqav", "sat", "scienceqa")


def test_valid_mixture_round_trips_through_json_and_dict():
    m = Mixture({"coco": 0.5, "lisa": 0.25, "sat": 0.25})
    assert Mixture.from_json(m.to_json()) == m
    assert Mixture(m.to_dict()) == m
    assert json.loads(m.to_json()) == {"coco": 0.5, "lisa": 0.25, "sat": 0.25}


def test_sum_tolerance_is_one_in_a_million():
    Mixture({"a": 0.5, "b": 0.5 + 9e-7})
    with pytest.raises(MixtureError, match="sum to"):
        Mixture({"a": 0.5, "b": 0.5 + 2e-6})


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, "at least one"),
        ({"a": -0.1, "b": 1.1}, "negative"),
        ({"a": float("nan"), "b": 1.0}, "not finite"),
        ({"a": float("inf")}, "not finite"),
        ({"a": "x"}, "not a number"),
        ({"": 1.0}, "non-empty"),
    ],
)
def test_invalid_mixtures_are_rejected(weights, message):
    with pytest.raises(MixtureError, match=message):
        Mixture(weights)


def test_normalize_rescales_and_refuses_zero_sum():
    assert Mixture({"a": 2.0, "b": 6.0}, normalize=True) == Mixture({"a": 0.25, "b": 0.75})
    with pytest.raises(MixtureError, match="sum to 0"):
        Mixture({"a": 0.0, "b": 0.0}, normalize=True)


def test_vector_form_follows_the_given_domain_order():
    m = Mixture({"sat": 0.2, "coco": 0.8})
    np.testing.assert_allclose(m.to_vector(DOMAINS), [0.8, 0, 0, 0.2, 0])
    np.testing.assert_allclose(m.to_vector(("sat", "coco")), [0.2, 0.8])
    assert Mixture.from_vector([0.8, 0, 0, 0.2, 0], DOMAINS)["sat"] == pytest.approx(0.2)
    with pytest.raises(MixtureError, match="unknown domain"):
        m.to_vector(("coco", "lisa"))


def test_equality_ignores_order_and_mixtures_are_hashable():
    a = Mixture({"x": 0.3, "y": 0.7})
    b = Mixture({"y": 0.7, "x": 0.3})
    assert a == b and hash(a) == hash(b)


def test_space_validates_names_and_bounds():
    with pytest.raises(MixtureError, match="duplicate"):
        MixtureSpace(("a", "a"))
    with pytest.raises(MixtureError, match="unknown domain"):
        MixtureSpace(("a", "b"), {"c": DomainBounds(0, 0.5)})
    with pytest.raises(MixtureError, match="lower bounds sum"):
        MixtureSpace(("a", "b"), {"a": DomainBounds(0.6, 1), "b": DomainBounds(0.6, 1)})
    with pytest.raises(MixtureError, match="upper bounds sum"):
        MixtureSpace(("a", "b"), {"a": DomainBounds(0, 0.4), "b": DomainBounds(0, 0.4)})
    with pytest.raises(MixtureError, match="lower <= upper"):
        DomainBounds(0.5, 0.2)


def test_space_contains_respects_bounds_and_fixed_zero():
    space = MixtureSpace(("a", "b", "c"), {"a": DomainBounds(0.2, 0.5),
                                          "c": DomainBounds.fixed_zero()})
    assert space.contains({"a": 0.3, "b": 0.7})
    assert not space.contains({"a": 0.1, "b": 0.9})
    assert not space.contains({"a": 0.3, "b": 0.6, "c": 0.1})
    assert not space.contains({"a": 0.3, "z": 0.7})
    X = space.to_matrix([{"a": 0.3, "b": 0.7}])
    assert X.shape == (1, 3)
    assert space.to_mixtures(X)[0] == Mixture({"a": 0.3, "b": 0.7, "c": 0.0})
