"""grpo.max_prompt_length: every prompt of the plan measured before training."""

from __future__ import annotations

import pytest

from rlvr.models import load_model_and_processor
from rlvr.training import build_training_data
from rlvr.training.errors import PromptTooLongError
from rlvr.training.prompt_length import check_prompt_lengths, prompt_token_lengths
from rlvr.training.run import prepare_processor_for_training
from tests.rlvr.training.conftest import tiny_job


def test_lengths_measured_and_the_limit_enforced(tiny_model, domain_file, tmp_path):
    job = tiny_job(tiny_model, domain_file, tmp_path / "out")
    data = build_training_data(job)
    _, processor = load_model_and_processor(str(tiny_model))
    prepare_processor_for_training(processor)
    lengths = prompt_token_lengths(data, processor)
    assert len(lengths) == len(data.dataset) and min(lengths) > 0
    check_prompt_lengths(data, processor, max(lengths))  # at the limit: fine
    check_prompt_lengths(data, processor, None)
    with pytest.raises(PromptTooLongError, match=r"exceed grpo\.max_prompt_length .*domain"):
        check_prompt_lengths(data, processor, max(lengths) - 1)
