"""benchmarks/grpo_throughput.py reads the vLLM configurations the device runs (issue 17)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "grpo_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("grpo_throughput_under_test", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_vllm_sleep_and_memory_modifiers(bench):
    spec = bench.parse_config("rlvr-vllm-spg8-nogc-sleep-mem15")
    assert spec["generation"] == {"backend": "vllm-colocate", "gpu_memory_utilization": 0.15,
                                  "sleep_mode": True}
    assert spec["grpo"] == {"steps_per_generation": 8, "gradient_checkpointing": False}
    assert spec["options"] == {}


@pytest.mark.parametrize("name", ["rlvr-mem0", "rlvr-mem101", "rlvr-memx", "rlvr-vllmx"])
def test_bad_modifiers_are_refused(bench, name):
    with pytest.raises(SystemExit, match="unknown modifier"):
        bench.parse_config(name)


def test_vllm_logit_bias_forbids_the_ids(bench):
    assert bench.vllm_logit_bias([7, 3]) == {7: -100.0, 3: -100.0}
