"""Load a vision-language model and its processor from a local folder or a hub id.

The normal transformers path (``AutoModelForImageTextToText``, ``AutoProcessor``) is used as
is. One fallback, and only where torchvision is absent (our CPU setup, docs/MODELS.md): a
Qwen2-VL folder whose ``AutoProcessor`` load fails for want of a video processor gets an
`ImageOnlyQwen2VLProcessor` built from the folder's image-processor config, tokenizer and chat
template. Every failure is a `ModelLoadError` with a one-line message that says what to do.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import torch
from huggingface_hub import is_offline_mode, try_to_load_from_cache
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    PreTrainedModel,
    ProcessorMixin,
    Qwen2VLImageProcessorPil,
)

from rlvr.models.image_only_processor import ImageOnlyQwen2VLProcessor, torchvision_available

# "owner/name" or "name" as the hub spells repository ids.
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
_PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
# What transformers raises for a folder or repo it cannot use (ImportError: missing backend).
_LOAD_ERRORS = (OSError, ValueError, ImportError, TypeError, KeyError)


class ModelLoadError(ValueError):
    """A model or processor could not be loaded; the message is one line saying why."""


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else '(no message)'}"


def default_attn_implementation() -> str:
    """``"flash_attention_2"`` if flash_attn imports and CUDA is available, else ``"sdpa"``."""
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _resolve_source(path_or_hub_id: str) -> tuple[str, bool]:
    """``(source, is_local)``. Raises `ModelLoadError`: missing path, uncached hub id offline."""
    path = Path(path_or_hub_id).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path} is not a model folder: it has no config.json")
        return str(path), True
    if path.exists():
        raise ModelLoadError(f"{path} is a file, not a model folder")
    if not _HUB_ID.match(path_or_hub_id) or path_or_hub_id.startswith("."):
        raise ModelLoadError(f"no model folder at {path}")
    cached = isinstance(try_to_load_from_cache(path_or_hub_id, "config.json"), str)
    if not cached and is_offline_mode():
        raise ModelLoadError(
            f"no model folder at {path} and hub id '{path_or_hub_id}' is not cached "
            "(offline): no network/model not cached: pass a local path"
        )
    return path_or_hub_id, False


def _image_only_processor(source: str) -> ImageOnlyQwen2VLProcessor | None:
    """The image-only processor of a Qwen2-VL folder, or None if the folder is not one."""
    try:
        processor = ImageOnlyQwen2VLProcessor.from_pretrained(source)
    except _LOAD_ERRORS:
        return None
    if not isinstance(processor.image_processor, Qwen2VLImageProcessorPil):
        return None
    return processor


def load_processor(source: str, *, trust_remote_code: bool = False) -> ProcessorMixin:
    """The processor of a resolved local folder or hub id (see `load_model_and_processor`).

    Raises:
        ModelLoadError: the source has no multimodal processor, or loading it failed.
    """
    processor, error = None, None
    try:
        processor = AutoProcessor.from_pretrained(source, trust_remote_code=trust_remote_code)
    except _LOAD_ERRORS as load_error:
        error = load_error
    # AutoProcessor falls back to returning a bare tokenizer when it finds no processor class.
    if isinstance(processor, ProcessorMixin) and hasattr(processor, "image_processor"):
        return processor
    if not torchvision_available():
        image_only = _image_only_processor(source)
        if image_only is not None:
            return image_only
    if error is not None:
        hint = "" if Path(source).is_dir() else "; no network/model not cached: pass a local path"
        message = f"cannot load the processor of {source}: {_one_line(error)}{hint}"
        raise ModelLoadError(message) from error
    raise ModelLoadError(
        f"{source} has no image processor (AutoProcessor gave a {type(processor).__name__}): "
        "save the model's processor into the folder"
    )


def load_model_and_processor(
    path_or_hub_id: str,
    *,
    dtype: torch.dtype | str | None = None,
    device: torch.device | str | None = None,
    attn_implementation: str | None = None,
    trust_remote_code: bool = False,
) -> tuple[PreTrainedModel, ProcessorMixin]:
    """Load an image-text-to-text model (e.g. Qwen2-VL) and its processor.

    Args:
        path_or_hub_id: a folder written by ``save_pretrained`` (e.g. by
            `rlvr.models.tiny.build_tiny_qwen2vl`) or a hub id such as
            ``"Qwen/Qwen2-VL-2B-Instruct"`` (downloaded or read from the hub cache).
        dtype: weight dtype (``torch.bfloat16``, ``"auto"``...); transformers' default if None.
        device: where to put the model (``"cuda:0"``, ``"cpu"``...); left on CPU if None.
        attn_implementation: ``"sdpa"``, ``"flash_attention_2"``, ``"eager"``; None picks
            `default_attn_implementation`.
        trust_remote_code: passed to transformers; off by default.

    Returns:
        ``(model, processor)``; the model in eval mode as transformers loads it.

    Raises:
        ModelLoadError: a missing path, a folder without config.json or without a processor,
            a hub id that is not cached while offline, or any loading failure (one line).
    """
    source, is_local = _resolve_source(path_or_hub_id)
    if is_local and not any((Path(source) / name).is_file() for name in _PROCESSOR_FILES):
        raise ModelLoadError(
            f"{source} holds no processor ({' or '.join(_PROCESSOR_FILES)}): "
            "save the processor with the model"
        )
    try:
        processor = load_processor(source, trust_remote_code=trust_remote_code)
        options = {"attn_implementation": attn_implementation or default_attn_implementation()}
        if dtype is not None:
            options["dtype"] = dtype
        model = AutoModelForImageTextToText.from_pretrained(
            source, trust_remote_code=trust_remote_code, **options
        )
    except ModelLoadError:
        raise
    except _LOAD_ERRORS as error:
        hint = "" if is_local else "; no network/model not cached: pass a local path"
        raise ModelLoadError(f"cannot load the model {source}: {_one_line(error)}{hint}") from error
    if device is not None:
        model = model.to(device)
    return model, processor
