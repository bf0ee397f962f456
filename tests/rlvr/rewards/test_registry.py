import pytest

from rlvr import rewards
from rlvr.rewards import RewardRegistry, UnknownRewardError, builtin_registry

BUILTINS = ("accuracy_math", "accuracy_mc", "format", "iou_detection", "iou_grounding")


def test_builtins_by_name():
    assert rewards.names() == BUILTINS
    for name in BUILTINS:
        assert rewards.get(name).__name__ == name


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownRewardError) as info:
        rewards.get("acc")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == f"unknown reward 'acc'; known rewards: {', '.join(BUILTINS)}"
    with pytest.raises(UnknownRewardError):
        rewards.get(["unhashable"])


def test_registry_refuses_duplicates_and_bad_entries():
    registry = builtin_registry()
    with pytest.raises(ValueError, match="'format' is already registered"):
        registry.register("format", lambda completions, **_: [])
    with pytest.raises(ValueError, match="non-empty string"):
        registry.register("", lambda completions, **_: [])
    with pytest.raises(ValueError, match="not callable"):
        registry.register("x", 3)
    with pytest.raises(ValueError, match="already registered"):
        RewardRegistry({"a": len}).copy().register("a", len)


def test_extending_a_copy_leaves_the_builtins_alone():
    registry = builtin_registry()
    registry.register("mine", lambda completions, **_: [0.0] * len(completions))
    assert "mine" in registry and "mine" not in builtin_registry()
    assert rewards.names() == BUILTINS
