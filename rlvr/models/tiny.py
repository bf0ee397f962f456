"""A tiny Qwen2-VL built locally: the model that tests and the embedded demo train, no download.

`build_tiny_qwen2vl` writes a folder that loads like a hub checkpoint (``from_pretrained``,
``trust_remote_code`` off): a ``Qwen2VLForConditionalGeneration`` of 1.8 M parameters from a
``Qwen2VLConfig``, a byte-level BPE tokenizer trained here (`rlvr.models.tiny_tokenizer`) with
Qwen2-VL's special tokens and chat template, and the processor. Without torchvision the processor
is image-only (`rlvr.models.image_only_processor`; why in docs/MODELS.md); the folder is saved in
the canonical ``Qwen2VLProcessor`` layout either way. With the default sizes a 56 x 56 image is
4 x 4 patches of 14 px, merged 2 x 2 into 4 image tokens; images are resized to at most 112 x 112
(16 image tokens: the size of the synthetic tasks' pictures, `rlvr.domains.synthetic`).

Same seed, same recipe: the same weights, bit for bit (initialization under a forked, seeded RNG;
the global RNG is left as it was). The tokenizer depends on the recipe only, not on the seed.
`ensure_tiny_qwen2vl` caches the folder and rebuilds it when the recipe (`TinyModelConfig`, plus
`RECIPE_VERSION` of this code) changes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import (
    GenerationConfig,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessorPil,
)

from rlvr.domains.synthetic import GENERATOR_VERSION
from rlvr.models.image_only_processor import ImageOnlyQwen2VLProcessor
from rlvr.models.qwen2vl_tokens import (
    ENDOFTEXT,
    IM_END,
    IMAGE_PAD,
    QWEN2VL_CHAT_TEMPLATE,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
)
from rlvr.models.tiny_tokenizer import train_tiny_qwen2_tokenizer

# Bump when the building code changes what a recipe produces, so cached folders are rebuilt.
# 2: the tokenizer corpus holds the synthetic tasks' texts (`rlvr.domains.synthetic`); the
#    defaults changed to 768 tokens and 16 heads of 16 dims (learns the synthetic tasks faster
#    than 4 heads of 64 at the same cost: see `rlvr.models.warm_start`).
RECIPE_VERSION = 2
RECIPE_FILE = "tiny_recipe.json"


@dataclasses.dataclass(frozen=True)
class TinyModelConfig:
    """The recipe of a tiny Qwen2-VL. Sizes are counts; pixels are areas (height x width).

    Attributes:
        vocab_size: BPE vocabulary, at most (bytes + merges + ``<|endoftext|>``; the corpus
            may run out of merges first); 13 special tokens follow.
        hidden_size: text hidden width, also the width the vision merger projects to.
        intermediate_size: text MLP width.
        num_layers: text decoder layers.
        num_heads: text attention heads; ``hidden_size / num_heads`` is the head dim.
        num_kv_heads: text key/value heads (grouped-query attention); divides ``num_heads``.
        mrope_section: multimodal RoPE split of half the head dim into (time, height, width).
        max_position_embeddings: longest sequence, in tokens.
        vision_embed_dim: vision transformer width.
        vision_depth: vision transformer blocks.
        vision_num_heads: vision attention heads.
        vision_mlp_ratio: vision MLP width / ``vision_embed_dim``.
        patch_size: vision patch side, px.
        spatial_merge_size: patches merged per side into one image token.
        min_pixels: smallest image area after resizing, px^2.
        max_pixels: largest image area after resizing, px^2.
        corpus_samples: rounds of the tokenizer corpus (`tiny_tokenizer.synthetic_corpus`).
        corpus_seed: seed of that corpus.

    Raises:
        ValueError: on inconsistent sizes (all problems at once).
    """

    vocab_size: int = 768
    hidden_size: int = 256
    intermediate_size: int = 512
    num_layers: int = 2
    num_heads: int = 16
    num_kv_heads: int = 8
    mrope_section: tuple[int, int, int] = (2, 3, 3)
    max_position_embeddings: int = 2048
    vision_embed_dim: int = 64
    vision_depth: int = 1
    vision_num_heads: int = 4
    vision_mlp_ratio: int = 2
    patch_size: int = 14
    spatial_merge_size: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 112 * 112
    corpus_samples: int = 400
    corpus_seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.vocab_size <= 256:
            problems.append(f"vocab_size={self.vocab_size} must exceed the 256 byte tokens")
        if self.hidden_size % self.num_heads:
            problems.append(
                f"num_heads={self.num_heads} must divide hidden_size={self.hidden_size}"
            )
        elif sum(self.mrope_section) * 2 != self.hidden_size // self.num_heads:
            problems.append(
                f"mrope_section={self.mrope_section} must sum to half the head dim "
                f"({self.hidden_size // self.num_heads // 2})"
            )
        if self.num_heads % self.num_kv_heads:
            problems.append(
                f"num_kv_heads={self.num_kv_heads} must divide num_heads={self.num_heads}"
            )
        if self.vision_embed_dim % self.vision_num_heads:
            problems.append(
                f"vision_num_heads={self.vision_num_heads} must divide "
                f"vision_embed_dim={self.vision_embed_dim}"
            )
        factor = self.patch_size * self.spatial_merge_size
        if not factor * factor <= self.min_pixels <= self.max_pixels:
            problems.append(
                f"need {factor}^2 <= min_pixels={self.min_pixels} <= max_pixels={self.max_pixels}"
            )
        if problems:
            raise ValueError("invalid TinyModelConfig: " + "; ".join(problems))

    def recipe_hash(self) -> str:
        """SHA-256 (hex) of these fields, `RECIPE_VERSION` and the synthetic generators'
        version (the tokenizer corpus holds their texts): equal hashes build equal folders."""
        recipe = {
            "recipe_version": RECIPE_VERSION,
            "synthetic_generator_version": GENERATOR_VERSION,
            **dataclasses.asdict(self),
        }
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _model_config(config: TinyModelConfig, token_ids: dict[str, int], vocab: int) -> Qwen2VLConfig:
    return Qwen2VLConfig(
        text_config={
            "vocab_size": vocab,
            "hidden_size": config.hidden_size,
            "intermediate_size": config.intermediate_size,
            "num_hidden_layers": config.num_layers,
            "num_attention_heads": config.num_heads,
            "num_key_value_heads": config.num_kv_heads,
            "max_position_embeddings": config.max_position_embeddings,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1_000_000.0,
                "mrope_section": list(config.mrope_section),
            },
            "bos_token_id": token_ids[ENDOFTEXT],
            "eos_token_id": token_ids[IM_END],
            "pad_token_id": token_ids[ENDOFTEXT],
        },
        vision_config={
            "depth": config.vision_depth,
            "embed_dim": config.vision_embed_dim,
            "hidden_size": config.hidden_size,
            "num_heads": config.vision_num_heads,
            "mlp_ratio": config.vision_mlp_ratio,
            "patch_size": config.patch_size,
            "spatial_merge_size": config.spatial_merge_size,
            "temporal_patch_size": 2,
        },
        image_token_id=token_ids[IMAGE_PAD],
        video_token_id=token_ids[VIDEO_PAD],
        vision_start_token_id=token_ids[VISION_START],
        vision_end_token_id=token_ids[VISION_END],
        tie_word_embeddings=False,
    )


def build_tiny_qwen2vl(out_dir: Path, *, seed: int, config: TinyModelConfig | None = None) -> Path:
    """Build a tiny Qwen2-VL and save model, tokenizer and processor into ``out_dir``.

    Args:
        out_dir: folder to write (created; existing files of the same names are overwritten).
        seed: seeds the weight initialization; the global torch RNG is left unchanged.
        config: the recipe; `TinyModelConfig()` when None.

    Returns:
        ``out_dir``, loadable with `rlvr.models.loading.load_model_and_processor` or the
        ``from_pretrained`` classes, and holding `RECIPE_FILE` with the recipe hash and seed.
    """
    config = config or TinyModelConfig()
    out_dir = Path(out_dir)
    tokenizer = train_tiny_qwen2_tokenizer(
        vocab_size=config.vocab_size,
        corpus_samples=config.corpus_samples,
        corpus_seed=config.corpus_seed,
    )
    special = (ENDOFTEXT, IM_END, IMAGE_PAD, VIDEO_PAD, VISION_START, VISION_END)
    token_ids = {token: tokenizer.convert_tokens_to_ids(token) for token in special}
    model_config = _model_config(config, token_ids, vocab=len(tokenizer))
    # A forked RNG: the seed fixes the weights without touching the caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2VLForConditionalGeneration(model_config)
    model.generation_config = GenerationConfig(
        bos_token_id=token_ids[ENDOFTEXT],
        eos_token_id=[token_ids[IM_END], token_ids[ENDOFTEXT]],
        pad_token_id=token_ids[ENDOFTEXT],
    )
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=config.min_pixels,
        max_pixels=config.max_pixels,
        patch_size=config.patch_size,
        merge_size=config.spatial_merge_size,
        temporal_patch_size=2,
    )
    processor = ImageOnlyQwen2VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=QWEN2VL_CHAT_TEMPLATE
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    recipe = {
        "recipe_hash": config.recipe_hash(),
        "seed": seed,
        "recipe_version": RECIPE_VERSION,
        "config": dataclasses.asdict(config),
    }
    # Written last: a folder without it (an interrupted build) never counts as cached.
    (out_dir / RECIPE_FILE).write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
    return out_dir


def read_recipe(folder: Path) -> dict | None:
    """The recipe record of a built folder (hash, seed, config), or None if absent/unreadable."""
    try:
        return json.loads((Path(folder) / RECIPE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def ensure_tiny_qwen2vl(cache_dir: Path, seed: int, config: TinyModelConfig | None = None) -> Path:
    """The cached tiny model for ``seed``, rebuilt if its recipe hash or seed differs.

    The folder is ``cache_dir / f"tiny-qwen2vl-seed{seed}"``. A rebuild is written to a
    temporary sibling and moved in place, so readers never see a half-written folder.

    Returns:
        The folder, as `build_tiny_qwen2vl` writes it.
    """
    config = config or TinyModelConfig()
    cache_dir = Path(cache_dir)
    folder = cache_dir / f"tiny-qwen2vl-seed{seed}"
    recipe = read_recipe(folder)
    if recipe and recipe.get("recipe_hash") == config.recipe_hash() and recipe.get("seed") == seed:
        return folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=cache_dir))
    try:
        build_tiny_qwen2vl(staging, seed=seed, config=config)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder
