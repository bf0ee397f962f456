"""vLLM offline generation with the 2B-shaped random Qwen2-VL of grpo_throughput.py: does it run.

Usage (on a CUDA machine with vLLM)::

    python benchmarks/vllm_generate.py --out vllm_generate.json

Builds the model folder (`build_model_folder`, bfloat16, rlvr's local tokenizer and a Qwen2-VL
image processor), starts ``vllm.LLM`` on it and generates ``--prompts`` completions of
``--max-tokens`` tokens twice: text-only chat prompts, then the same prompts with one 224 px
noise image each (vLLM's Qwen2-VL processor expands the image placeholder). Qwen2-VL's vision
markers get a logit bias of -100 (a random model samples them; see grpo_throughput.py).
Figures: engine start seconds, and per kind the wall seconds and completion tokens/s of one
``generate`` call after a warm-up call. A random model does not stop early.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.grpo_throughput import _version_of, build_model_folder
from rlvr.training.run import suppress_vision_markers_in_vllm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="2b")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--image-px", type=int, default=224)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.5)
    parser.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs/compile")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("vllm_generate.json"))
    args = parser.parse_args()

    import torch
    import vllm
    from PIL import Image

    from rlvr.models import load_processor

    work = args.work or Path(tempfile.mkdtemp(prefix="vllm_generate-"))
    model = work / "model"
    built = build_model_folder(model, args.size, args.image_px, "cuda", seed=0)
    processor = load_processor(str(model))
    report: dict = {
        "command": "python benchmarks/vllm_generate.py " + " ".join(sys.argv[1:]),
        "device": torch.cuda.get_device_name(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "vllm": vllm.__version__, "transformers": _version_of("transformers")},
        "model": built,
        "results": {},
    }
    started = time.perf_counter()
    llm = vllm.LLM(model=str(model), gpu_memory_utilization=args.gpu_memory_utilization,
                   limit_mm_per_prompt={"image": 1}, max_model_len=4096, seed=0,
                   enforce_eager=args.enforce_eager)
    report["engine_start_seconds"] = round(time.perf_counter() - started, 1)
    bias = suppress_vision_markers_in_vllm({}, processor)["logit_bias"]
    params = vllm.SamplingParams(temperature=1.0, max_tokens=args.max_tokens, logit_bias=bias,
                                 ignore_eos=False, seed=0)
    rng = random.Random(0)
    texts, images = [], []
    for i in range(args.prompts):
        question = f"Which shape is left of the red circle? Options: (A) star (B) cross {i}"
        text_only = [{"role": "user", "content": [{"type": "text", "text": question}]}]
        with_image = [{"role": "user", "content": [{"type": "image"},
                                                   {"type": "text", "text": question}]}]
        texts.append(processor.apply_chat_template(text_only, add_generation_prompt=True,
                                                   tokenize=False))
        image = Image.frombytes("RGB", (args.image_px, args.image_px),
                                rng.randbytes(args.image_px * args.image_px * 3))
        images.append({"prompt": processor.apply_chat_template(
            with_image, add_generation_prompt=True, tokenize=False),
            "multi_modal_data": {"image": image}})
    for kind, requests in (("text", texts), ("image", images)):
        llm.generate(requests, params, use_tqdm=False)  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        outputs = llm.generate(requests, params, use_tqdm=False)
        wall = time.perf_counter() - t0
        tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
        report["results"][kind] = {
            "requests": len(requests), "completion_tokens": tokens,
            "seconds": round(wall, 3), "completion_tokens_per_s": round(tokens / wall, 1),
            "prompt_tokens_first": len(outputs[0].prompt_token_ids),
            "vision_markers_sampled": sum(
                t in bias for o in outputs for t in o.outputs[0].token_ids),
        }
        print(kind, json.dumps(report["results"][kind]), flush=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
