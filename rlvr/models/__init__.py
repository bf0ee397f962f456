"""Models: the tiny local Qwen2-VL (random, or warm-started on the synthetic tasks), and loading
real checkpoints with their processor.

See docs/MODELS.md for the torchvision decision (an image-only processor on CPU machines).
"""

from rlvr.models.image_only_processor import ImageOnlyQwen2VLProcessor, torchvision_available
from rlvr.models.loading import (
    ModelLoadError,
    default_attn_implementation,
    load_model_and_processor,
    load_processor,
)
from rlvr.models.tiny import (
    TinyModelConfig,
    build_tiny_qwen2vl,
    ensure_tiny_qwen2vl,
    read_recipe,
)
from rlvr.models.warm_start import WarmStartRecipe, ensure_warm_started

__all__ = [
    "ImageOnlyQwen2VLProcessor",
    "ModelLoadError",
    "TinyModelConfig",
    "WarmStartRecipe",
    "build_tiny_qwen2vl",
    "default_attn_implementation",
    "ensure_tiny_qwen2vl",
    "ensure_warm_started",
    "load_model_and_processor",
    "load_processor",
    "read_recipe",
    "torchvision_available",
]
