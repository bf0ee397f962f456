"""Loading real checkpoints: errors are one-line `ModelLoadError`s; the image-only fallback."""

import os

# Never reach for a hub (read by huggingface_hub when first imported).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import shutil
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from PIL import Image
from transformers import AutoProcessor

from rlvr.models import (
    ImageOnlyQwen2VLProcessor,
    ModelLoadError,
    build_tiny_qwen2vl,
    default_attn_implementation,
    load_model_and_processor,
    load_processor,
    torchvision_available,
)
from tests.rlvr.models.small import SMALL_MODEL


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "model", seed=0, config=SMALL_MODEL)


def load_error(source: str) -> str:
    with pytest.raises(ModelLoadError) as caught:
        load_model_and_processor(source)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_missing_path(tmp_path):
    assert "no model folder at" in load_error(str(tmp_path / "nowhere"))
    assert "no model folder at" in load_error("./not-here")


def test_folder_without_config(tmp_path):
    assert "no config.json" in load_error(str(tmp_path))


def test_file_instead_of_folder(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"")
    assert "is a file" in load_error(str(path))


def test_folder_without_processor(tiny_folder, tmp_path):
    for name in ("config.json", "generation_config.json", "model.safetensors"):
        shutil.copy(tiny_folder / name, tmp_path / name)
    assert "holds no processor" in load_error(str(tmp_path))


def test_folder_with_only_a_tokenizer_has_no_image_processor(tiny_folder, tmp_path):
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_folder / name, tmp_path / name)
    # Bypass the file check: AutoProcessor returns a bare tokenizer here, which must not pass.
    with pytest.raises(ModelLoadError, match=r"no image processor|cannot load the processor"):
        load_processor(str(tmp_path))


def test_uncached_hub_id_offline(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    message = load_error("nobody-here/no-such-model-xyz")
    assert "no network/model not cached: pass a local path" in message


@pytest.mark.skipif(torch.cuda.is_available(), reason="flash-attn may be picked on a GPU")
def test_attention_defaults_to_sdpa_without_cuda():
    assert default_attn_implementation() == "sdpa"


@pytest.mark.skipif(torchvision_available(), reason="the fallback is only for no torchvision")
def test_without_torchvision_autoprocessor_fails_and_the_image_only_processor_loads(tiny_folder):
    with pytest.raises(ImportError, match="Torchvision"):
        AutoProcessor.from_pretrained(tiny_folder)
    processor = load_processor(str(tiny_folder))
    assert isinstance(processor, ImageOnlyQwen2VLProcessor)
    assert not hasattr(processor, "video_processor")
    with pytest.raises(ValueError, match="no video processor"):
        processor(text=["x"], videos=[[Image.new("RGB", (56, 56))]])


@pytest.mark.skipif(not torchvision_available(), reason="needs torchvision")
def test_with_torchvision_autoprocessor_loads_the_folder_unchanged(tiny_folder):
    processor = load_processor(str(tiny_folder))
    assert type(processor).__name__ == "Qwen2VLProcessor"
    assert hasattr(processor, "video_processor")
