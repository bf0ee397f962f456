import pytest
import yaml
from pydantic import ValidationError

from rlvr.job import (
    KNOWN_DOMAINS,
    GRPOSettings,
    JobError,
    TrainJob,
    load_job,
    save_job,
)

VALID = """
model: Qwen/Qwen2-VL-2B-Instruct
domains: {coco: 0.0, lisa: 0.3, geoqav: 0.2, sat: 0.2, scienceqa: 0.3}
budget: 1200
seed: 7
output_dir: runs/trial-3
grpo:
  learning_rate: 1e-6
  num_generations: 8
  per_device_train_batch_size: 4
  gradient_accumulation_steps: 2
generation: {backend: vllm-server, vllm_server_port: 8001}
lora: {r: 8, target_modules: all-linear}
tracking: {mlflow_tracking_uri: "sqlite:///mlflow.db", run_id: abc123}
"""


def write(tmp_path, text, name="job.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_job_with_reference_defaults(tmp_path):
    job = load_job(write(tmp_path, VALID))
    assert job.schema_version == 1
    assert job.domains["lisa"] == 0.3 and job.budget == 1200 and job.seed == 7
    assert job.output_dir == tmp_path / "runs" / "trial-3"  # relative to the job file
    assert job.grpo.learning_rate == 1e-6  # "1e-6" is a string to YAML 1.1
    assert (job.grpo.warmup_ratio, job.grpo.lr_scheduler_type, job.grpo.beta) == (
        0.1,
        "linear",
        0.04,
    )
    assert job.grpo.freeze_vision_tower is True and job.grpo.bf16 is None
    assert job.grpo.generation_batch == 8
    assert (
        job.generation.backend == "vllm-server" and job.generation.vllm_server_host == "127.0.0.1"
    )
    assert job.lora.target_modules == "all-linear" and job.lora.alpha == 32
    assert job.tracking.run_id == "abc123"
    assert GRPOSettings().num_generations == 6


def test_round_trip(tmp_path):
    job = load_job(write(tmp_path, VALID))
    again = load_job(save_job(job, tmp_path / "copy" / "job.yaml"))
    assert again == job
    assert yaml.safe_load(job.to_yaml())["schema_version"] == 1


def test_three_errors_are_reported_at_once_with_key_paths(tmp_path):
    text = (
        VALID.replace("budget: 1200", "budget: 0")
        .replace("num_generations: 8", "num_generations: many")
        .replace("backend: vllm-server", "backend: vllm")
    )
    path = write(tmp_path, text)
    with pytest.raises(JobError) as caught:
        load_job(path)
    lines = caught.value.lines
    assert len(lines) == 3, lines
    assert str(caught.value).splitlines() == list(lines)
    assert lines[0] == f"{path}: budget: Input should be greater than 0"
    assert lines[1].startswith(f"{path}: grpo.num_generations: Input should be a valid integer")
    assert lines[2].startswith(f"{path}: generation.backend: Input should be 'hf',")
    assert isinstance(caught.value, ValueError)


def test_batch_arithmetic_names_the_numbers_and_what_to_change(tmp_path):
    path = write(tmp_path, VALID.replace("num_generations: 8", "num_generations: 6"))
    with pytest.raises(JobError) as caught:
        load_job(path)
    (line,) = caught.value.lines
    assert line.startswith(f"{path}: grpo: the generation batch")
    assert "per_device_train_batch_size (4) x num_processes (1) x" in line
    assert "gradient_accumulation_steps = 2) = 8 must be divisible by num_generations (6)" in line
    assert "change per_device_train_batch_size to 6, or gradient_accumulation_steps to 3" in line
    assert "num_generations to one of 2, 4, 8" in line


@pytest.mark.parametrize(
    ("grpo", "ok"),
    [
        ({"num_generations": 6, "per_device_train_batch_size": 6}, True),
        ({"num_generations": 8, "per_device_train_batch_size": 2, "num_processes": 4}, True),
        ({"num_generations": 8, "per_device_train_batch_size": 2, "num_processes": 2}, False),
        (
            {
                "num_generations": 8,
                "per_device_train_batch_size": 2,
                "num_processes": 2,
                "gradient_accumulation_steps": 1,
                "steps_per_generation": 2,
            },
            True,
        ),
        # steps_per_generation replaces gradient_accumulation_steps in TRL's product.
        (
            {
                "num_generations": 4,
                "per_device_train_batch_size": 2,
                "gradient_accumulation_steps": 2,
                "steps_per_generation": 1,
            },
            False,
        ),
        ({"num_generations": 1, "per_device_train_batch_size": 1}, False),
    ],
)
def test_batch_rule_matches_trl(grpo, ok):
    if ok:
        GRPOSettings(**grpo)
    else:
        with pytest.raises(ValidationError):
            GRPOSettings(**grpo)


def test_unknown_domain_lists_the_known_ones(tmp_path):
    path = write(tmp_path, VALID.replace("coco: 0.0", "chartqa: 0.0"))
    with pytest.raises(JobError) as caught:
        load_job(path)
    assert caught.value.lines == (
        f"{path}: domains: unknown domain(s) 'chartqa'; known domains: coco, geoqav, lisa, sat, "
        "scienceqa, synth_chart, synth_detect, synth_geometry, synth_ground, synth_ood_chartcmp, "
        "synth_ood_count, synth_spatial",
    )


def test_domains_from_domain_files(tmp_path):
    write(
        tmp_path,
        "charts:\n  source: {kind: hub, id: me/charts}\n  answer_type: option_letter\n"
        "  rewards: {accuracy_mc: 1}\n",
        name="domains.yaml",
    )
    text = VALID.replace("coco: 0.0", "charts: 0.0") + "domain_files: [domains.yaml]\n"
    job = load_job(write(tmp_path, text))
    assert job.domain_files == (tmp_path / "domains.yaml",)
    assert load_job(save_job(job, tmp_path / "again.yaml")) == job


def test_errors_in_domain_files_come_with_the_job_errors(tmp_path):
    write(tmp_path, "charts:\n  source: {kind: hub}\n", name="domains.yaml")
    text = VALID.replace("budget: 1200", "budget: -1") + "domain_files: [domains.yaml]\n"
    with pytest.raises(JobError) as caught:
        load_job(write(tmp_path, text))
    text = str(caught.value)
    assert "domains.yaml: charts.source.id: Field required" in text
    assert "domains.yaml: charts.answer_type: Field required" in text
    assert "job.yaml: budget: Input should be greater than 0" in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("seed: 7", "seed: 7\ncolour: red"), "colour: unknown key"),
        (("  learning_rate: 1e-6", "  learning_rate: 1e-6\n  lr: 2"), "grpo.lr: unknown key"),
        (("lisa: 0.3", "lisa: 0.4"), "domains: weights must sum to 1"),
        (("lisa: 0.3", "lisa: .nan"), "domains.lisa: must be finite"),
        (
            ("coco: 0.0", "coco: -0.0001"),
            "domains.coco: Input should be greater than or equal to 0",
        ),
        (("budget: 1200", "budget: true"), "budget: Input should be a valid integer"),
        (("seed: 7", "seed: 7\nschema_version: 2"), "schema_version: Input should be 1"),
        (
            ("target_modules: all-linear", "target_modules: []"),
            "lora.target_modules: name at least",
        ),
    ],
)
def test_invalid_values(tmp_path, change, expected):
    with pytest.raises(JobError, match=expected):
        load_job(write(tmp_path, VALID.replace(*change)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[1, 2]", "expected a mapping of job settings"), ("a: [", "invalid YAML: line")],
)
def test_unreadable_job_files(tmp_path, text, expected):
    with pytest.raises(JobError, match=expected):
        load_job(write(tmp_path, text))


def test_direct_construction_checks_domains_unless_told_otherwise():
    fields = {"model": "m", "domains": {"nope": 1.0}, "budget": 3, "output_dir": "out"}
    with pytest.raises(ValidationError, match="unknown domain"):
        TrainJob(**fields)
    job = TrainJob.model_validate(fields, context={KNOWN_DOMAINS: None})
    assert job.domains == {"nope": 1.0}
    with pytest.raises(ValidationError):
        job.budget = 4  # frozen
