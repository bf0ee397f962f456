"""Stand-ins for the evaluator tests: a tiny model and local domains with test splits."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported

from pathlib import Path

import datasets
import huggingface_hub
import pytest
import yaml

from rlvr.models import build_tiny_qwen2vl
from tests.rlvr.domains.standins import image_bytes, mc_row, save_disk_dataset, write_jsonl

MC = "toymc"  # multiple choice, test split on disk: accuracy
BOX = "toybox"  # grounding, test split in JSONL: mean IoU
TRAIN_ONLY = "toytrain"  # no test split
MC_TEST_SIZE = 6
BOX_TEST_SIZE = 5
BAD_BOX = "toybadbox"  # 5 records, 1 with a broken answer
BOX_SOLUTION = "<answer>[100, 200, 300, 400]</answer>"


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "model", seed=0)


def box_rows(size, broken=()):
    return [
        {
            "image": image_bytes((56, 56), color=30 * i),
            "problem": f"Where is object {i}? Give one box.",
            "solution": "<answer>no box</answer>" if i in broken else BOX_SOLUTION,
        }
        for i in range(size)
    ]


def write_eval_domains(folder: Path) -> Path:
    """``folder/domains.yaml`` with `MC`, `BOX`, `BAD_BOX` (test splits) and `TRAIN_ONLY`."""
    folder.mkdir(parents=True, exist_ok=True)
    train = save_disk_dataset(folder / "train", [mc_row(i) for i in range(2)])
    mc_test = save_disk_dataset(
        folder / "mc_test",
        [mc_row(i, image_bytes((56, 56), color=20 * i)) for i in range(MC_TEST_SIZE)],
    )
    box_jsonl, box_images = write_jsonl(folder / "box_test", box_rows(BOX_TEST_SIZE))
    bad_jsonl, bad_images = write_jsonl(folder / "bad_test", box_rows(5, broken={2}))
    mc = {"format": 1.0, "accuracy_mc": 2.0}
    box = {"format": 1.0, "iou_grounding": 2.0}
    disk_train = {"kind": "disk", "path": str(train)}
    specs = {
        MC: {
            "source": disk_train,
            "test_source": {"kind": "disk", "path": str(mc_test)},
            "answer_type": "option_letter",
            "prompt_template": "{problem} Put the option in <answer> </answer>.",
            "rewards": mc,
        },
        BOX: {
            "source": disk_train,
            "test_source": {"kind": "jsonl", "path": str(box_jsonl), "image_dir": str(box_images)},
            "answer_type": "box",
            "rewards": box,
        },
        BAD_BOX: {
            "source": disk_train,
            "test_source": {"kind": "jsonl", "path": str(bad_jsonl), "image_dir": str(bad_images)},
            "answer_type": "box",
            "rewards": box,
        },
        TRAIN_ONLY: {"source": disk_train, "answer_type": "option_letter", "rewards": mc},
    }
    path = folder / "domains.yaml"
    path.write_text(yaml.safe_dump(specs))
    return path


@pytest.fixture(scope="session")
def domain_file(tmp_path_factory) -> Path:
    return write_eval_domains(tmp_path_factory.mktemp("eval-domains"))


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory) -> str:
    # One store for the session: creating an sqlite store costs seconds.
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
