"""Shared stand-ins for the training tests: a tiny model and two local domains, no hub."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported

from pathlib import Path

import datasets
import huggingface_hub
import pytest
import yaml

from rlvr.job import TrainJob
from rlvr.models import build_tiny_qwen2vl
from tests.rlvr.domains.standins import image_bytes, mc_row, save_disk_dataset, write_jsonl

MC_DOMAIN = "toymc"
BOX_DOMAIN = "toybox"


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "model", seed=0)


def write_domains(folder: Path, size: int = 8) -> Path:
    """Two user domains in ``folder/domains.yaml``: multiple choice on a ``save_to_disk``
    folder (accuracy_mc + format) and grounding in JSONL (iou_grounding + format)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_disk_dataset(
        folder / "mc", [mc_row(i, image_bytes((56, 56), color=20 * i)) for i in range(size)]
    )
    rows = [
        {
            "image": image_bytes((56, 56), color=30 * i),
            "problem": f"Where is object {i}? Give one box.",
            "solution": "<answer>[100, 200, 300, 400]</answer>",
        }
        for i in range(size)
    ]
    jsonl, images = write_jsonl(folder / "box", rows)
    specs = {
        MC_DOMAIN: {
            "source": {"kind": "disk", "path": "mc"},
            "answer_type": "option_letter",
            "prompt_template": "{problem} Put the option in <answer> </answer>.",
            "rewards": {"format": 1.0, "accuracy_mc": 2.0},
        },
        BOX_DOMAIN: {
            "source": {"kind": "jsonl", "path": str(jsonl), "image_dir": str(images)},
            "answer_type": "box",
            "rewards": {"format": 1.0, "iou_grounding": 2.0},
        },
    }
    path = folder / "domains.yaml"
    path.write_text(yaml.safe_dump(specs))
    return path


@pytest.fixture(scope="session")
def domain_file(tmp_path_factory) -> Path:
    return write_domains(tmp_path_factory.mktemp("domains"))


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory) -> str:
    # One store for the session: creating an sqlite store costs seconds.
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def tiny_job(model: Path, domain_file: Path, output_dir: Path, **fields) -> TrainJob:
    """A job that trains the tiny model for a few CPU steps (2 prompts of 2 completions each)."""
    data = {
        "model": str(model),
        "domain_files": [str(domain_file)],
        "domains": {MC_DOMAIN: 0.5, BOX_DOMAIN: 0.5},
        "budget": 12,
        "seed": 0,
        "output_dir": str(output_dir),
        "save_steps": 100,
        "grpo": {
            "learning_rate": 1e-2,
            "warmup_ratio": 0.0,
            "beta": 0.0,
            "num_generations": 2,
            "per_device_train_batch_size": 4,
            "max_completion_length": 8,
        },
    }
    data.update(fields)
    return TrainJob.model_validate(data)
