"""The job's prompts: exact counts per domain, rows built lazily in the plan's order."""

from PIL import Image

from rlvr.training import build_training_data
from tests.rlvr.training.conftest import BOX_DOMAIN, MC_DOMAIN, tiny_job


def test_counts_sum_to_the_budget_and_rows_are_trl_conversations(domain_file, tmp_path):
    job = tiny_job("unused", domain_file, tmp_path, budget=11,
                   domains={MC_DOMAIN: 0.7, BOX_DOMAIN: 0.3})
    data = build_training_data(job)
    assert data.plan.counts == {MC_DOMAIN: 8, BOX_DOMAIN: 3}
    assert data.plan.with_replacement == {MC_DOMAIN: False, BOX_DOMAIN: False}
    assert len(data.dataset) == 11
    # Only the plan is stored; images are read when a row is.
    assert set(data.dataset.data.column_names) == {"domain", "index"}
    rows = data.dataset[:11]
    assert rows["domain"] == [domain for domain, _ in data.plan.items]
    assert all(isinstance(image, Image.Image) for image in rows["image"])
    row = data.dataset[0]
    assert row["prompt"][-1]["content"][0] == {"type": "image"}
    assert set(data.reports) == {MC_DOMAIN, BOX_DOMAIN}


def test_zero_weight_domains_are_not_loaded_and_interleave_mode_is_capped(domain_file, tmp_path):
    job = tiny_job("unused", domain_file, tmp_path, budget=5,
                   domains={MC_DOMAIN: 1.0, BOX_DOMAIN: 0.0}, sampling_mode="interleave_under")
    data = build_training_data(job)
    assert set(data.specs) == {MC_DOMAIN}
    assert data.plan.mode == "interleave_under" and len(data.plan) == 5
    assert data.plan.counts == {MC_DOMAIN: 5, BOX_DOMAIN: 0}
