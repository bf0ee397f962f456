import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.sampling import (
    MixturePlan,
    OversamplingWarning,
    interleave_under,
    largest_remainder_counts,
    sample_mixture,
)

NAMES = ("coco", "lisa", "geoqav", "sat", "scienceqa")


@st.composite
def weight_vectors(draw):
    k = draw(st.integers(1, len(NAMES)))
    raw = draw(st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k))
    if sum(raw) == 0:
        raw[0] = 1.0
    total = math.fsum(raw)
    return {name: w / total for name, w in zip(NAMES, raw, strict=False)}


@settings(max_examples=300, deadline=None)
@given(weights=weight_vectors(), budget=st.integers(0, 100_000))
def test_counts_sum_to_budget_and_are_within_one_of_the_quota(weights, budget):
    counts = largest_remainder_counts(weights, budget)
    assert list(counts) == list(weights)
    assert sum(counts.values()) == budget
    for name, w in weights.items():
        assert abs(counts[name] - w * budget) < 1 + 1e-9
        if w == 0:
            assert counts[name] == 0


def test_ties_are_broken_by_name_whatever_the_order():
    assert largest_remainder_counts({"b": 0.5, "a": 0.5}, 3) == {"b": 1, "a": 2}
    assert largest_remainder_counts({"a": 0.5, "b": 0.5}, 3) == {"a": 2, "b": 1}
    third = {"c": 1 / 3, "a": 1 / 3, "b": 1 / 3}
    assert largest_remainder_counts(third, 4) == {"c": 1, "a": 2, "b": 1}


def test_largest_remainder_goes_to_the_largest_fraction():
    # quotas 3.5, 1.75, 1.75: floors sum to 5, the 2 left go to the .75s
    assert largest_remainder_counts({"a": 0.5, "b": 0.25, "c": 0.25}, 7) == {
        "a": 3,
        "b": 2,
        "c": 2,
    }


@pytest.mark.parametrize(
    ("weights", "budget", "match"),
    [
        ({}, 10, "non-empty"),
        ({"a": 0.5, "b": 0.4}, 10, "sum to 1"),
        ({"a": 1.5, "b": -0.5}, 10, ">= 0"),
        ({"a": float("nan"), "b": 1.0}, 10, "finite"),
        ({"a": float("inf")}, 10, "finite"),
        ({"a": "1"}, 10, "not a number"),
        ({"a": True}, 10, "not a number"),
        ({"": 1.0}, 10, "non-empty strings"),
        ({"a": 1.0}, -1, "budget"),
        ({"a": 1.0}, 2.0, "budget"),
    ],
)
def test_invalid_weights_and_budget_raise_one_line(weights, budget, match):
    with pytest.raises(ValueError, match=match) as info:
        largest_remainder_counts(weights, budget)
    assert "\n" not in str(info.value)


def test_weights_within_tolerance_are_accepted():
    counts = largest_remainder_counts({"a": 0.5 + 5e-7, "b": 0.5}, 1000)
    assert sum(counts.values()) == 1000


SIZES = {"coco": 50, "lisa": 30, "geoqav": 40, "sat": 200, "scienceqa": 60}
WEIGHTS = {"coco": 0.0, "lisa": 0.3, "geoqav": 0.2, "sat": 0.2, "scienceqa": 0.3}


def test_sample_mixture_has_exact_counts_distinct_items_and_is_seeded():
    plan = sample_mixture(SIZES, WEIGHTS, 100, seed=7)
    assert len(plan) == 100
    assert plan.counts == largest_remainder_counts(WEIGHTS, 100)
    assert plan.counts["coco"] == 0 and all(d != "coco" for d, _ in plan.items)
    assert len(set(plan.items)) == 100  # no replacement needed, none used
    assert all(0 <= i < SIZES[d] for d, i in plan.items)
    assert not any(plan.with_replacement.values())
    assert plan == sample_mixture(SIZES, WEIGHTS, 100, seed=7)
    assert plan != sample_mixture(SIZES, WEIGHTS, 100, seed=8)
    reordered = dict(reversed(list(WEIGHTS.items())))
    assert sample_mixture(dict(reversed(list(SIZES.items()))), reordered, 100, seed=7).items == (
        plan.items
    )


def test_sample_mixture_is_interleaved_not_blocked():
    plan = sample_mixture(SIZES, WEIGHTS, 100, seed=0)
    first_half = {d for d, _ in plan.items[:50]}
    assert len(first_half) == 4


def test_a_domain_draw_does_not_depend_on_other_domains():
    a = sample_mixture({"x": 100, "y": 100}, {"x": 0.5, "y": 0.5}, 20, seed=3)
    b = sample_mixture({"x": 100, "y": 100, "z": 9}, {"x": 0.5, "y": 0.5, "z": 0.0}, 20, seed=3)
    assert sorted(i for d, i in a.items if d == "x") == sorted(i for d, i in b.items if d == "x")


def test_oversampled_domain_warns_records_and_is_balanced():
    with pytest.warns(OversamplingWarning, match="'small'.*quota 8 exceeds its 3"):
        plan = sample_mixture({"small": 3, "big": 100}, {"small": 0.8, "big": 0.2}, 10, seed=0)
    assert plan.with_replacement == {"small": True, "big": False}
    assert plan.counts == {"small": 8, "big": 2}
    small = [i for d, i in plan.items if d == "small"]
    assert sorted(small.count(i) for i in range(3)) == [2, 3, 3]
    assert plan.summary()["with_replacement"] == ["small"]


def test_quota_equal_to_size_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = sample_mixture({"a": 5, "b": 5}, {"a": 0.5, "b": 0.5}, 10, seed=0)
    assert sorted(plan.items) == [(d, i) for d in "ab" for i in range(5)]


@pytest.mark.parametrize(
    ("sizes", "weights", "match"),
    [
        ({"a": 10}, {"a": 0.5, "b": 0.5}, "'b' has weight 0.5 but no size"),
        ({"a": 10, "b": 0}, {"a": 0.5, "b": 0.5}, "'b' has weight 0.5 but no examples"),
        ({"a": -1}, {"a": 1.0}, "size of domain 'a'"),
    ],
)
def test_sampler_errors_name_the_domain(sizes, weights, match):
    with pytest.raises(ValueError, match=match):
        sample_mixture(sizes, weights, 10, seed=0)
    with pytest.raises(ValueError, match=match):
        interleave_under(sizes, weights, seed=0)


def test_zero_weight_domain_may_be_empty_or_missing():
    plan = sample_mixture({"a": 10, "b": 0}, {"a": 1.0, "b": 0.0, "c": 0.0}, 5, seed=0)
    assert plan.counts == {"a": 5, "b": 0, "c": 0}
    assert plan.summary() == {
        "mode": "exact",
        "num_samples": 5,
        "counts": {"a": 5, "b": 0, "c": 0},
        "with_replacement": [],
    }


def test_negative_seed_is_refused():
    with pytest.raises(ValueError, match="seed"):
        sample_mixture({"a": 1}, {"a": 1.0}, 1, seed=-1)


def test_interleave_under_stops_when_the_drawn_domain_is_exhausted():
    sizes = {"a": 5, "b": 1000}
    plan = interleave_under(sizes, {"a": 0.5, "b": 0.5}, seed=1)
    assert plan.mode == "interleave_under"
    assert plan.counts["a"] == 5  # only `a` can be exhausted first
    assert plan.counts["b"] < 1000
    assert len(set(plan.items)) == len(plan)
    assert plan == interleave_under(sizes, {"a": 0.5, "b": 0.5}, seed=1)
    lengths = {len(interleave_under(sizes, {"a": 0.5, "b": 0.5}, seed=s)) for s in range(10)}
    assert len(lengths) > 1  # the reference's runs have different lengths


def test_interleave_under_ignores_zero_weights_and_caps_samples():
    plan = interleave_under({"a": 10**6, "b": 3}, {"a": 1.0, "b": 0.0}, seed=0, max_samples=50)
    assert len(plan) == 50 and plan.counts == {"a": 50, "b": 0}
    assert interleave_under({"a": 3}, {"a": 1.0}, seed=0).counts == {"a": 3}


def test_plan_checks_its_counts():
    with pytest.raises(ValueError, match="do not match"):
        MixturePlan(items=(("a", 0),), counts={"a": 2}, with_replacement={"a": False}, mode="exact")
