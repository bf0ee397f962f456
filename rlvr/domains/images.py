"""`ImagePolicy`: the size and colour mode every training image is brought to.

Qwen2-VL cuts images into 14 px patches merged 2 x 2, so a side under 28 px cannot be encoded;
its processor also refuses aspect ratios above 200, and each 28 x 28 px costs one visual token,
which is why the number of pixels is capped.
"""

from __future__ import annotations

import math

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rlvr.config_types import PositiveInt, PositiveReal

QWEN2_VL_MAX_PIXELS = 12_845_056  # the Qwen2-VL image processor's default `max_pixels`


class ImagePolicy(BaseModel):
    """RGB, short side at least ``min_short_side``, at most ``max_pixels`` pixels.

    Raises:
        pydantic.ValidationError: a ``max_pixels`` too small for an image of the smallest short
            side and the largest aspect ratio allowed (the two rules would contradict).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_short_side: PositiveInt = Field(
        default=28, description="Images with a shorter side are upscaled to this many pixels."
    )
    max_pixels: PositiveInt = Field(
        default=QWEN2_VL_MAX_PIXELS,
        description="Images with more pixels are downscaled to about this many, keeping the "
        "aspect ratio.",
    )
    max_aspect_ratio: PositiveReal | None = Field(
        default=200.0,
        description="Images more elongated than this are bad records (Qwen2-VL refuses them); "
        "None: no limit.",
    )

    @model_validator(mode="after")
    def _rules_compatible(self) -> ImagePolicy:
        ratio = self.max_aspect_ratio or 1.0
        if ratio < 1.0:
            raise ValueError(f"max_aspect_ratio must be >= 1, got {self.max_aspect_ratio}")
        smallest_cap = math.ceil(self.min_short_side**2 * ratio)
        if self.max_pixels < smallest_cap:
            raise ValueError(
                f"max_pixels ({self.max_pixels}) must be at least min_short_side^2 * "
                f"max_aspect_ratio = {smallest_cap}"
            )
        return self

    def problem_with_size(self, width: int, height: int) -> str | None:
        """Why an image of this size cannot be used (empty, too elongated), or None."""
        if width < 1 or height < 1:
            return f"empty image ({width} x {height})"
        ratio = max(width, height) / min(width, height)
        if self.max_aspect_ratio is not None and ratio > self.max_aspect_ratio:
            return f"aspect ratio {ratio:.0f} over {self.max_aspect_ratio:g} ({width} x {height})"
        return None

    def target_size(self, width: int, height: int) -> tuple[int, int]:
        """The ``(width, height)`` an image of this size is resized to (maybe the same)."""
        scale = max(1.0, self.min_short_side / min(width, height))
        new_w = max(math.ceil(width * scale - 1e-9), 1)
        new_h = max(math.ceil(height * scale - 1e-9), 1)
        if new_w * new_h > self.max_pixels:
            shrink = math.sqrt(self.max_pixels / (width * height))
            new_w = max(self.min_short_side, math.floor(width * shrink))
            new_h = max(self.min_short_side, math.floor(height * shrink))
        return new_w, new_h

    def apply(self, image: Image.Image) -> Image.Image:
        """``image`` in RGB at `target_size` (bicubic resampling); a new image when changed.

        Palette images with transparency go through RGBA first (Pillow warns otherwise); any
        alpha channel is dropped.
        """
        if image.mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")
        if image.mode != "RGB":
            image = image.convert("RGB")
        size = self.target_size(*image.size)
        if size != image.size:
            image = image.resize(size, Image.Resampling.BICUBIC)
        return image
