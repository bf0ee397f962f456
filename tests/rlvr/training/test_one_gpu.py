"""A single training process on a multi-GPU host trains on one GPU instead of failing in TRL."""

from __future__ import annotations

import pytest
import torch

from rlvr.training.distributed import one_gpu_for_a_single_process
from rlvr.training.errors import ProcessCountError


def _gpus(monkeypatch, count: int, initialized: bool = False) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: initialized)


@pytest.mark.parametrize(("outer", "first"),
                         [(None, "0"), ("3,5", "3"), ("GPU-ab, GPU-cd", "GPU-ab")])
def test_several_gpus_narrow_to_the_first_visible_with_a_warning(monkeypatch, outer, first):
    _gpus(monkeypatch, 2)
    environ = {} if outer is None else {"CUDA_VISIBLE_DEVICES": outer}
    with pytest.warns(UserWarning, match=r"accelerate launch --num_processes 2 mixopt train"):
        assert one_gpu_for_a_single_process(environ) == 2
    assert environ["CUDA_VISIBLE_DEVICES"] == first


@pytest.mark.parametrize(("count", "environ"), [(0, {}), (1, {}), (4, {"WORLD_SIZE": "4"})])
def test_one_gpu_none_or_a_launched_group_is_left_alone(monkeypatch, count, environ):
    _gpus(monkeypatch, count)
    before = dict(environ)
    assert one_gpu_for_a_single_process(environ) is None
    assert environ == before


def test_cuda_already_started_with_several_gpus_is_a_clear_error(monkeypatch):
    _gpus(monkeypatch, 8, initialized=True)
    environ: dict[str, str] = {}
    with pytest.raises(ProcessCountError, match=r"8 GPUs .* CUDA_VISIBLE_DEVICES"):
        one_gpu_for_a_single_process(environ)
    assert environ == {}
