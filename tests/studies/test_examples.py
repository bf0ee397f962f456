"""Every shipped example file validates."""

from pathlib import Path

import pytest

from rlvr.job import load_job

EXAMPLES = Path(__file__).resolve().parents[2] / "studies" / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("train_*.yaml")), ids=lambda p: p.name)
def test_example_train_jobs_validate(path):
    job = load_job(path)
    assert abs(sum(job.domains.values()) - 1.0) < 1e-6
    assert job.model
