"""The vLLM sampling-mismatch warning, fed TRL 1.16's logged metrics (log dicts, no training)."""

from types import SimpleNamespace

import pytest
from transformers import TrainerControl, TrainerState

from rlvr.training.sampling_mismatch import SamplingMismatchWarning

ARGS = SimpleNamespace(vllm_importance_sampling_mode="sequence_mask")


def generation(ratio, diff=0.88):
    return {"loss": 0.0, "sampling/importance_sampling_ratio/mean": ratio,
            "sampling/sampling_logp_difference/mean": diff}


def feed(callback, logs):
    state, control = TrainerState(), TrainerControl()
    for line in logs:
        callback.on_log(ARGS, state, control, logs=line)
    return callback.messages


def test_warns_once_after_n_generations_whose_samples_get_no_weight():
    warned = []
    callback = SamplingMismatchWarning(steps=3, warn=warned.append)
    reuse = {"loss": 0.0}  # steps that reuse a generation carry no ratio: not counted
    messages = feed(callback, [generation(1e-44), reuse, generation(0.0), reuse,
                               generation(2e-40), generation(0.0)])
    assert messages == warned and len(messages) == 1
    assert "averaged 6.67e-41 over the last 3 logged generations" in messages[0]
    assert "differ by 0.88 nats per token" in messages[0]
    assert "vllm_importance_sampling_mode sequence_mask" in messages[0]


def test_healthy_ratios_or_a_recovery_do_not_warn():
    assert feed(SamplingMismatchWarning(steps=2), [generation(0.98, 0.02)] * 5) == []
    callback = SamplingMismatchWarning(steps=2)
    assert feed(callback, [generation(0.0), generation(1.0), generation(0.0)]) == []
    assert feed(callback, [generation(0.0)]) and len(callback.messages) == 1  # 2 in a row now


def test_hf_runs_without_the_metric_are_ignored():
    assert feed(SamplingMismatchWarning(steps=1), [{"loss": 0.1, "reward": 0.2}] * 4) == []


@pytest.mark.parametrize("kwargs", [{"steps": 0}, {"min_mean_ratio": 0.0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match="SamplingMismatchWarning"):
        SamplingMismatchWarning(**kwargs)
