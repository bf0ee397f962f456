"""The zero-signal warning, fed TRL 1.16's logged metrics (synthetic log dicts, no training)."""

from types import SimpleNamespace

import pytest
from transformers import TrainerControl, TrainerState

from rlvr.training.zero_signal import ZeroSignalWarning, has_no_signal

ARGS = SimpleNamespace(max_completion_length=1024, learning_rate=1e-6, num_generations=6,
                       temperature=1.0)


def zero(step, reward=0.0):
    return {"loss": 0.0, "reward": reward, "reward_std": 0.0, "frac_reward_zero_std": 1.0,
            "step": step}


def signal(step):
    return {"loss": 0.01, "reward": 0.4, "reward_std": 0.3, "frac_reward_zero_std": 0.5}


def feed(callback, logs):
    state, control = TrainerState(), TrainerControl()
    for line in logs:
        callback.on_log(ARGS, state, control, logs=line)
    callback.on_train_end(ARGS, state, control)
    return callback.messages


def test_warns_once_after_n_steps_without_signal_naming_the_causes():
    warned = []
    callback = ZeroSignalWarning(steps=3, warn=warned.append)
    messages = feed(callback, [zero(1), zero(2), zero(3), zero(4), zero(5)])
    assert messages == warned and len(messages) == 1
    message = messages[0]
    assert "no learning signal in the last 3 logged steps" in message
    assert "same reward (mean reward 0)" in message and "GRPO advantage is 0" in message
    for cause in ("untrained or random model", "max_completion_length 1024",
                  "learning_rate 1e-06", "num_generations 6"):
        assert cause in message


def test_signal_resets_the_count_and_logs_without_rewards_do_not_count():
    callback = ZeroSignalWarning(steps=3, warn=lambda message: None)
    no_rewards = {"loss": 0.0, "grad_norm": 0.0}  # a step reusing a generation batch
    assert feed(callback, [zero(1), zero(2), signal(3), zero(4), no_rewards, zero(5),
                           signal(6)]) == []
    # Groups that differ from each other but not inside themselves still give advantage 0.
    assert has_no_signal({"reward_std": 0.2, "frac_reward_zero_std": 1.0}) is True
    assert has_no_signal({"reward_std": 0.0}) is True  # older TRL: the overall std only
    assert has_no_signal(no_rewards) is None


def test_a_short_run_without_any_signal_is_named_at_its_end():
    callback = ZeroSignalWarning(steps=5, warn=lambda message: None)
    messages = feed(callback, [zero(1), zero(2)])
    assert len(messages) == 1 and "in all 2 logged steps" in messages[0]
    mixed = ZeroSignalWarning(steps=5, warn=lambda message: None)
    assert feed(mixed, [signal(1), zero(2)]) == []  # it learnt from step 1


def test_the_default_warning_goes_to_the_log(caplog):
    with caplog.at_level("WARNING", logger="rlvr.training.zero_signal"):
        feed(ZeroSignalWarning(steps=1), [zero(1)])
    assert "no learning signal" in caplog.text


def test_steps_must_be_positive():
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        ZeroSignalWarning(steps=0)
