"""Whatever a completion or a solution cell holds, every reward returns floats in range."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr import rewards

FRAGMENTS = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<ANSWER>",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    ",",
    ":",
    "'",
    '"',
    "Position",
    "Confidence",
    "No Objects",
    "NaN",
    "Infinity",
    "1e999",
    "0",
    "10",
    "500.5",
    "-3",
    "1000",
    "B",
    "b",
    "Answer:",
    "\\frac{1}{2}",
    "^",
    "$",
    "\n",
    " ",
    "İ",
    "\x00",
    "10^{10^{10}}",
]
structured_text = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
text = st.one_of(st.text(max_size=200), structured_text)
leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), text, st.binary(max_size=8)
)
junk = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["role", "content", "type", "text", "x"]), children),
    ),
    max_leaves=12,
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["assistant", "user", 3]), "content": st.one_of(text, junk)}
)
completion = st.one_of(text, junk, st.lists(message, max_size=3))
solution = st.one_of(text, junk)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", ["format", "accuracy_mc", "iou_grounding", "iou_detection"])
@SETTINGS
@given(pairs=st.lists(st.tuples(completion, solution), max_size=4))
def test_rewards_never_raise(name, pairs):
    check(rewards.get(name), pairs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(completion, solution), max_size=2))
def test_accuracy_math_never_raises(pairs):
    check(rewards.get("accuracy_math"), pairs)


@SETTINGS
@given(pairs=st.lists(st.tuples(completion, solution), max_size=4))
def test_combined_reward_never_raises(pairs):
    combined = rewards.combine({"iou_detection": 2.0, "accuracy_mc": 1.0, "format": 1.0})
    values = combined([c for c, _ in pairs], solution=[s for _, s in pairs])
    assert all(isinstance(v, float) and 0.0 <= v <= 4.0 for v in values)


def check(reward, pairs):
    completions = [c for c, _ in pairs]
    values = reward(completions, solution=[s for _, s in pairs], prompts=None)
    assert len(values) == len(pairs)
    assert all(isinstance(v, float) and math.isfinite(v) and 0.0 <= v <= 1.0 for v in values)
