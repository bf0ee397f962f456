"""A Qwen2-VL processor for images only, for machines without torchvision.

Why: transformers 5.x builds every ``Qwen2VLProcessor`` with a video processor, and video
processors need torchvision (huggingface/transformers#48558). The CPU torch build we install
(torch 2.13.0) has no importable torchvision on PyPI, and the lead chose to keep it that way
(a 2 GB venv instead of 5.5 GB; see docs/MODELS.md). Without torchvision:

- ``Qwen2VLProcessor(image_processor=..., tokenizer=..., video_processor=None)`` raises
  ``AttributeError: type object 'VIDEO_PROCESSOR_MAPPING' has no attribute '_extra_content'``
  (the argument check looks the video base class up in a dummy mapping);
- ``AutoProcessor.from_pretrained(folder)`` raises ``OSError: Can't load video processor`` when
  the folder has no video-processor config, and asks for torchvision when it has one.

`ImageOnlyQwen2VLProcessor` is ``Qwen2VLProcessor`` whose sub-processors are the image processor
(the PIL backend, ``Qwen2VLImageProcessorPil``, where torchvision is absent) and the tokenizer.
Images, text and chat templates go through the parent's code unchanged; passing ``videos=``
raises. It saves as a canonical ``Qwen2VLProcessor`` folder, with a video-processor entry that
mirrors the image settings, so the folder loads through plain ``AutoProcessor`` wherever
torchvision is present. `rlvr.models.loading` builds one only where torchvision is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from transformers import Qwen2VLProcessor
from transformers.utils import is_torchvision_available

CANONICAL_PROCESSOR_CLASS = "Qwen2VLProcessor"
_VIDEO_PROCESSOR_CLASS = "Qwen2VLVideoProcessor"
# Image-processor settings that the video processor shares (same patching and normalization).
_SHARED_VISION_KEYS = (
    "do_convert_rgb",
    "do_normalize",
    "do_rescale",
    "do_resize",
    "image_mean",
    "image_std",
    "merge_size",
    "patch_size",
    "resample",
    "rescale_factor",
    "size",
    "temporal_patch_size",
)


def torchvision_available() -> bool:
    """Whether transformers sees torchvision (then the normal ``AutoProcessor`` path is used)."""
    return is_torchvision_available()


class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
    """``Qwen2VLProcessor`` without a video processor: images and text only.

    Args:
        image_processor: a Qwen2-VL image processor (``Qwen2VLImageProcessorPil`` here).
        tokenizer: a Qwen2 tokenizer carrying ``<|image_pad|>`` and ``<|video_pad|>``.
        chat_template: a Jinja chat template, or None.

    Raises:
        TypeError: if a sub-processor is of the wrong kind (from ``ProcessorMixin``).
    """

    # The sub-processors are read from this signature (``ProcessorMixin.get_attributes``):
    # leaving ``video_processor`` out is what makes the processor image-only.
    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        # ``Qwen2VLProcessor.__init__`` forwards three positional sub-processors; the mixin
        # pairs them with our two attributes and drops the trailing None.
        super().__init__(
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=None,
            chat_template=chat_template,
            **kwargs,
        )

    def __call__(self, images=None, text=None, videos=None, **kwargs):
        if videos is not None:
            raise ValueError(
                "ImageOnlyQwen2VLProcessor has no video processor (torchvision is not "
                "installed); videos are not supported here"
            )
        return super().__call__(images=images, text=text, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The canonical ``Qwen2VLProcessor`` config, with a video entry mirroring the images'."""
        output = super().to_dict()
        output["processor_class"] = CANONICAL_PROCESSOR_CLASS
        image_config = output.get("image_processor", {})
        video_config = {
            key: image_config[key] for key in _SHARED_VISION_KEYS if key in image_config
        }
        video_config["video_processor_type"] = _VIDEO_PROCESSOR_CLASS
        output["video_processor"] = video_config
        return output

    def save_pretrained(
        self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs
    ):
        """Save as a canonical Qwen2-VL processor folder (see the module docstring)."""
        files = super().save_pretrained(save_directory, push_to_hub=push_to_hub, **kwargs)
        # The mixin stamps the tokenizer with our class name, which AutoProcessor would not
        # find on a machine with torchvision; stamp the canonical one instead.
        tokenizer_config = Path(save_directory) / "tokenizer_config.json"
        if tokenizer_config.is_file():
            config = json.loads(tokenizer_config.read_text(encoding="utf-8"))
            config["processor_class"] = CANONICAL_PROCESSOR_CLASS
            tokenizer_config.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return files
