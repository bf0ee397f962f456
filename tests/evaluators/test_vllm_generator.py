"""The vLLM backend's configuration, against a stand-in ``vllm`` module (vLLM cannot run here).

The stand-in records what `VLLMGenerator` passes to ``vllm.LLM`` / ``SamplingParams`` and
answers with objects shaped like vLLM's ``RequestOutput`` (``.outputs[i].text``). What vLLM
itself does with them (image processing, scheduling, sampling) is not tested here.
"""

import importlib.machinery
import importlib.metadata
import sys
import types
from typing import ClassVar

import pytest
import torch
from PIL import Image

from evaluators import (
    GenerationSettings,
    GeneratorUnavailableError,
    VLLMGenerator,
    evaluate_checkpoint,
    select_backend,
)
from evaluators.generation import chat_texts, vllm_cpu_build
from evaluators.vllm_generator import CPU_KV_CACHE_BYTES
from rlvr.domains import default_registry
from rlvr.models import load_processor
from tests.evaluators.conftest import MC, MC_TEST_SIZE

SAMPLED = GenerationSettings(
    do_sample=True, temperature=0.7, top_p=0.9, samples_per_prompt=3, seed=11, max_new_tokens=5
)


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class FakeLLM:
    """Records its arguments; completion ``i`` names the prompt's image colour and its seed."""

    instances: ClassVar[list["FakeLLM"]] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        FakeLLM.instances.append(self)

    def generate(self, requests, sampling_params, **kwargs):
        self.calls.append((requests, sampling_params, kwargs))
        params = (
            sampling_params
            if isinstance(sampling_params, list)
            else [sampling_params] * len(requests)
        )
        return [
            types.SimpleNamespace(
                prompt=r["prompt"],
                outputs=[
                    types.SimpleNamespace(
                        text=f"{r['multi_modal_data']['image'].getpixel((0, 0))[0]}"
                        f"|{p.kwargs.get('seed')}"
                    )
                ],
            )
            for r, p in zip(requests, params, strict=True)
        ]


class FakeProcessor:
    def apply_chat_template(self, messages, *, tokenize, add_generation_prompt):
        assert not tokenize and add_generation_prompt
        return f"<chat>{messages[-1]['content'][-1]['text']}<assistant>"


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)  # for find_spec
    module.LLM = FakeLLM
    module.SamplingParams = FakeSamplingParams
    FakeLLM.instances = []
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr("evaluators.generation.vllm_cpu_build", lambda: False)
    monkeypatch.setattr("evaluators.vllm_generator.vllm_cpu_build", lambda: False)
    return module


def messages(text):
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def image(red):
    return Image.new("RGB", (28, 28), (red, 0, 0))


def test_select_backend_choices(monkeypatch, fake_vllm):
    assert select_backend("auto") == "vllm" and select_backend("vllm") == "vllm"
    assert select_backend("hf") == "hf"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_backend("auto") == "hf"
    with pytest.raises(GeneratorUnavailableError, match="needs a CUDA GPU"):
        select_backend("vllm")
    monkeypatch.setattr("evaluators.generation.vllm_cpu_build", lambda: True)
    assert select_backend("vllm") == "vllm"  # vLLM's CPU build, asked for explicitly
    assert select_backend("auto") == "hf"  # never chosen by itself on CPU
    monkeypatch.delitem(sys.modules, "vllm")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(sys, "meta_path", [])  # nothing can be found: vLLM "not installed"
    with pytest.raises(GeneratorUnavailableError, match=r"pip install 'mixopt\[gpu\]'"):
        select_backend("vllm")
    assert select_backend("auto") == "hf"


def test_llm_is_built_from_the_checkpoint_with_the_limits_and_seed(fake_vllm):
    VLLMGenerator(
        "/ckpt",
        SAMPLED,
        processor=FakeProcessor(),
        gpu_memory_utilization=0.5,
        max_model_len=4096,
        tensor_parallel_size=2,
    )
    assert FakeLLM.instances[-1].kwargs == {
        "model": "/ckpt",
        "trust_remote_code": False,
        "seed": 11,
        "limit_mm_per_prompt": {"image": 1},
        "max_model_len": 4096,
        "gpu_memory_utilization": 0.5,
        "tensor_parallel_size": 2,
        "dtype": "auto",
    }
    VLLMGenerator(
        "/c", SAMPLED, processor=FakeProcessor(), limit_mm_per_prompt={"image": 2}, seed=5
    )
    kwargs = FakeLLM.instances[-1].kwargs
    assert (kwargs["seed"], kwargs["limit_mm_per_prompt"], kwargs["max_model_len"]) == (
        5,
        {"image": 2},
        None,
    )


def test_the_cpu_build_gets_a_bounded_kv_cache(fake_vllm, monkeypatch):
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    monkeypatch.setattr("evaluators.vllm_generator.vllm_cpu_build", lambda: True)
    VLLMGenerator("/c", SAMPLED, processor=FakeProcessor(), dtype="float32")
    kwargs = FakeLLM.instances[-1].kwargs
    assert (kwargs["kv_cache_memory_bytes"], kwargs["dtype"]) == (CPU_KV_CACHE_BYTES, "float32")
    VLLMGenerator("/c", SAMPLED, processor=FakeProcessor(), kv_cache_memory_bytes=123)
    assert FakeLLM.instances[-1].kwargs["kv_cache_memory_bytes"] == 123
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "4")  # vLLM's own setting wins
    VLLMGenerator("/c", SAMPLED, processor=FakeProcessor())
    assert "kv_cache_memory_bytes" not in FakeLLM.instances[-1].kwargs


def test_vllm_cpu_build_is_read_from_package_metadata(monkeypatch):
    versions = {"vllm-cpu": "0.32.0"}

    def version(dist):
        if dist not in versions:
            raise importlib.metadata.PackageNotFoundError(dist)
        return versions[dist]

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert vllm_cpu_build()
    versions.clear()
    assert not vllm_cpu_build()
    versions["vllm"] = "0.33.0"
    assert not vllm_cpu_build()
    versions["vllm"] = "0.12.0+cpu"
    assert vllm_cpu_build()


def test_greedy_requests_carry_the_chat_text_and_image_in_order(fake_vllm):
    generator = VLLMGenerator("/c", GenerationSettings(max_new_tokens=7), processor=FakeProcessor())
    images = [image(10), image(20), image(30)]
    out = generator.generate([messages("a"), messages("b"), messages("c")], images, seed=4)
    assert out == ["10|None", "20|None", "30|None"]
    requests, params, kwargs = FakeLLM.instances[-1].calls[-1]
    assert [r["prompt"] for r in requests] == [
        "<chat>a<assistant>",
        "<chat>b<assistant>",
        "<chat>c<assistant>",
    ]
    assert [r["multi_modal_data"]["image"] for r in requests] == images
    assert params.kwargs == {
        "temperature": 0.0,
        "max_tokens": 7,
        "n": 1,
        "skip_special_tokens": True,
    }
    assert kwargs == {"use_tqdm": False}
    assert generator.generate([], []) == []
    with pytest.raises(ValueError, match="2 prompts but 1 images"):
        generator.generate([messages("a")] * 2, [image(1)])


def test_sampling_gives_each_request_its_seed_and_one_completion(fake_vllm):
    generator = VLLMGenerator("/c", SAMPLED, processor=FakeProcessor())
    # The caller repeats a prompt samples_per_prompt times (as for HFGenerator).
    prompts = [messages("a")] * 3 + [messages("b")] * 3
    images = [image(1)] * 3 + [image(2)] * 3
    out = generator.generate(prompts, images, seed=100)
    assert out == ["1|100", "1|101", "1|102", "2|103", "2|104", "2|105"]
    params = FakeLLM.instances[-1].calls[-1][1]
    assert [p.kwargs for p in params] == [
        {
            "temperature": 0.7,
            "top_p": 0.9,
            "max_tokens": 5,
            "n": 1,
            "seed": 100 + j,
            "skip_special_tokens": True,
        }
        for j in range(6)
    ]


def test_a_short_answer_from_vllm_is_an_error(fake_vllm, monkeypatch):
    generator = VLLMGenerator("/c", GenerationSettings(), processor=FakeProcessor())
    monkeypatch.setattr(generator.llm, "generate", lambda *a, **k: [])
    with pytest.raises(RuntimeError, match="0 outputs for 1 prompts"):
        generator.generate([messages("a")], [image(1)])


def test_prompts_are_the_hf_chat_template_strings(fake_vllm, tiny_model):
    processor = load_processor(str(tiny_model))
    generator = VLLMGenerator(tiny_model, GenerationSettings())  # loads the same processor
    prompts = [messages("What is this?"), messages("Where is it?")]
    generator.generate(prompts, [image(1), image(2)])
    sent = [r["prompt"] for r in FakeLLM.instances[-1].calls[-1][0]]
    assert sent == chat_texts(processor, prompts)
    # One placeholder per prompt: vLLM's Qwen2-VL processor expands it for the image.
    assert all(text.count("<|image_pad|>") == 1 for text in sent)


def test_evaluate_checkpoint_uses_vllm_when_asked(fake_vllm, tiny_model, domain_file):
    settings = GenerationSettings(
        backend="vllm",
        max_new_tokens=4,
        batch_size=2,
        **{k: getattr(SAMPLED, k) for k in ("do_sample", "samples_per_prompt", "seed")},
    )
    result, samples = evaluate_checkpoint(
        tiny_model, [MC], default_registry([domain_file]), settings, limit=4
    )
    llm = FakeLLM.instances[-1]
    assert llm.kwargs["model"] == str(tiny_model)
    assert result.benchmarks[MC].n == 4 <= MC_TEST_SIZE
    assert len(samples) == 4 * 3
    assert [len(call[0]) for call in llm.calls] == [12]
    assert [p.kwargs["seed"] for p in llm.calls[0][1]] == list(range(11, 23))
