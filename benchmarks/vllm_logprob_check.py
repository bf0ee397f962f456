"""Do vLLM and the trainer see the same model? Log-probabilities of vLLM's samples, both sides.

Usage (on a CUDA machine with vLLM)::

    python benchmarks/vllm_logprob_check.py --out vllm_logprob_check.json

Why: GRPO with ``generation.backend: vllm-colocate`` on the lent H100 (docs/PERFORMANCE.md)
logged TRL's ``sampling/sampling_logp_difference/mean`` at about 0.88 nats per token and an
importance-sampling ratio near 0, so TRL's default ``sequence_mask`` correction masks every
sequence. This script separates the candidate causes on the 2B-shaped random Qwen2-VL of
grpo_throughput.py:

1. vLLM is started the way TRL's colocate mode starts it (in-process ``external_launcher``,
   ``logprobs_mode="processed_logprobs"``) and samples ``--max-tokens`` tokens for text-only
   and for image prompts (temperature 1, log-probability of each sampled token kept).
2. The same checkpoint in transformers scores those tokens three ways: float32, float32
   master weights under bfloat16 autocast (what our trainer does on a GPU), and bfloat16.
   The image prompts go to vLLM twice: as chat text (vLLM's processor expands the image
   placeholder) and as TRL's colocate mode sends them (the trainer's token ids, placeholder
   already expanded, plus the image).
3. TRL's colocate weight sync is replayed (``model_runner.model.load_weights`` with the HF
   model's ``named_parameters``, weights unchanged) and step 1-2 repeated: a sync that maps a
   name wrongly shows as a larger difference after it.

   Then every weight of the float32 model is perturbed (5 % noise) and synced: vLLM must
   follow the perturbed model (and part from the unperturbed bfloat16 copy), which proves
   that the sync writes.

Figures per (phase, kind, variant): mean and max |logp_vllm - logp_hf| per token, and the
share of sequences TRL's ``sequence_mask`` (ratio = exp(sum of differences) outside
[0, 3]) would drop.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.grpo_throughput import _version_of, build_model_folder

DEVICE = "cuda"
TRL_SEQUENCE_MASK_MAX = 3.0  # TRL 1.16's vllm_importance_sampling_clip_max default


def requests(processor, count: int, image_px: int) -> dict[str, list]:
    """Per kind, requests ``{"vllm": what vLLM gets, "prompt": chat text, "image": PIL or None}``.

    ``image_ids`` is how TRL's colocate mode calls vLLM: the trainer's token ids (the image
    placeholder already expanded by the HF processor) plus the image; ``image`` gives vLLM the
    chat text and lets its own processor expand the placeholder.
    """
    from PIL import Image

    rng = random.Random(0)
    out: dict[str, list] = {"text": [], "image": [], "image_ids": []}
    for i in range(count):
        question = f"Which shape is left of the red circle? Options: (A) star (B) cross {i}"
        text_only = [{"role": "user", "content": [{"type": "text", "text": question}]}]
        with_image = [{"role": "user", "content": [{"type": "image"},
                                                   {"type": "text", "text": question}]}]
        text = processor.apply_chat_template(text_only, add_generation_prompt=True,
                                             tokenize=False)
        out["text"].append({"vllm": {"prompt": text}, "prompt": text, "image": None})
        image = Image.frombytes("RGB", (image_px, image_px),
                                rng.randbytes(image_px * image_px * 3))
        prompt = processor.apply_chat_template(with_image, add_generation_prompt=True,
                                               tokenize=False)
        out["image"].append({"vllm": {"prompt": prompt, "multi_modal_data": {"image": image}},
                             "prompt": prompt, "image": image})
        ids = processor(text=[prompt], images=[image], return_tensors="pt")["input_ids"][0]
        out["image_ids"].append({"vllm": {"prompt_token_ids": ids.tolist(),
                                          "multi_modal_data": {"image": image}},
                                 "prompt": prompt, "image": image})
    return out


def sample(llm, params, batch: list[dict]) -> list[dict]:
    """Per request: completion token ids and vLLM's log-probability of each."""
    rows = []
    for output in llm.generate([r["vllm"] for r in batch], params, use_tqdm=False):
        completion = output.outputs[0]
        ids = list(completion.token_ids)
        logps = [step[token].logprob for token, step in zip(ids, completion.logprobs, strict=True)]
        rows.append({"ids": ids, "logps": logps, "prompt_len": len(output.prompt_token_ids)})
    return rows


def hf_logps(model, processor, request: dict, ids: list[int], temperature: float,
             mode: str) -> tuple[list[float], int]:
    """Log-probabilities of ``ids`` after the request's prompt under the HF ``model``."""
    import torch

    images = [request["image"]] if request["image"] is not None else None
    inputs = processor(text=[request["prompt"]], images=images, return_tensors="pt")
    inputs = {k: v.to(DEVICE) for k, v in inputs.items()}
    prompt_len = inputs["input_ids"].shape[1]
    completion = torch.tensor([ids], device=DEVICE)
    inputs["input_ids"] = torch.cat([inputs["input_ids"], completion], dim=1)
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    for key in ("mm_token_type_ids", "token_type_ids"):  # per-token, like input_ids: text = 0
        if key in inputs:
            inputs[key] = torch.cat([inputs[key], torch.zeros_like(completion)], dim=1)
    if "pixel_values" in inputs and mode == "bf16":
        inputs["pixel_values"] = inputs["pixel_values"].to(torch.bfloat16)
    with torch.no_grad(), torch.autocast(DEVICE, torch.bfloat16, enabled=mode == "autocast"):
        logits = model(**inputs).logits[0, prompt_len - 1:-1].float() / temperature
    logps = torch.log_softmax(logits, dim=-1).gather(1, completion[0, :, None])[:, 0]
    return logps.tolist(), prompt_len


def compare(vllm_rows: list[dict], hf_rows: list[list[float]]) -> dict:
    diffs, masked = [], 0
    for row, hf in zip(vllm_rows, hf_rows, strict=True):
        d = [a - b for a, b in zip(hf, row["logps"], strict=True)]  # TRL: old(HF) - sampling
        diffs.extend(abs(x) for x in d)
        ratio_log = sum(d)
        if ratio_log > math.log(TRL_SEQUENCE_MASK_MAX):
            masked += 1
    return {"mean_abs_diff": round(sum(diffs) / len(diffs), 5),
            "max_abs_diff": round(max(diffs), 4), "tokens": len(diffs),
            "sequence_mask_drops": f"{masked}/{len(vllm_rows)}"}


def score_all(report_phase: dict, models: dict, processor, batches: dict, sampled: dict,
              temperature: float) -> None:
    for kind, rows in sampled.items():
        for mode, model in models.items():
            scored = []
            for request, row in zip(batches[kind], rows, strict=True):
                logps, prompt_len = hf_logps(model, processor, request, row["ids"], temperature,
                                             mode)
                if prompt_len != row["prompt_len"]:
                    report_phase.setdefault("prompt_len_mismatch", []).append(
                        [kind, prompt_len, row["prompt_len"]])
                scored.append(logps)
            report_phase[f"{kind}/{mode}"] = compare(rows, scored)
            print(kind, mode, json.dumps(report_phase[f"{kind}/{mode}"]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--image-px", type=int, default=224)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.3)
    parser.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs/compile")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("vllm_logprob_check.json"))
    args = parser.parse_args()

    import torch
    import vllm
    from transformers import Qwen2VLForConditionalGeneration

    from rlvr.models import load_processor
    from rlvr.training.run import suppress_vision_markers_in_vllm
    from studies.launchers.local import free_port

    work = args.work or Path(tempfile.mkdtemp(prefix="vllm_logprob-"))
    folder = work / "model"
    built = build_model_folder(folder, "2b", args.image_px, "cuda", seed=0)
    processor = load_processor(str(folder))
    report: dict = {
        "command": "python benchmarks/vllm_logprob_check.py " + " ".join(sys.argv[1:]),
        "device": torch.cuda.get_device_name(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "vllm": vllm.__version__, "transformers": _version_of("transformers")},
        "model": built, "phases": {},
    }
    # TRL's colocate mode: one in-process engine per rank, started from env:// variables.
    os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(free_port()))
    started = time.perf_counter()
    llm = vllm.LLM(model=str(folder), gpu_memory_utilization=args.gpu_memory_utilization,
                   limit_mm_per_prompt={"image": 1}, max_model_len=4096, seed=0,
                   distributed_executor_backend="external_launcher",
                   max_num_batched_tokens=4096, logprobs_mode="processed_logprobs",
                   enforce_eager=args.enforce_eager)
    report["engine_start_seconds"] = round(time.perf_counter() - started, 1)
    bias = suppress_vision_markers_in_vllm({}, processor)["logit_bias"]
    params = vllm.SamplingParams(temperature=args.temperature, max_tokens=args.max_tokens,
                                 logit_bias=bias, logprobs=0, seed=0)
    batches = requests(processor, args.prompts, args.image_px)

    fp32 = Qwen2VLForConditionalGeneration.from_pretrained(str(folder), dtype=torch.float32)
    fp32 = fp32.to("cuda").eval()
    bf16 = Qwen2VLForConditionalGeneration.from_pretrained(str(folder), dtype=torch.bfloat16)
    bf16 = bf16.to("cuda").eval()
    models = {"float32": fp32, "autocast": fp32, "bf16": bf16}

    for phase in ("loaded", "after_sync", "after_sync_perturbed"):
        if phase == "after_sync_perturbed":
            # A sync that writes nothing leaves vLLM where it was, as the identity sync above
            # would also show: change every weight by 5 % noise, sync, and expect vLLM to follow
            # the perturbed float32 model (and to part from the unperturbed bfloat16 one).
            generator = torch.Generator(device="cuda").manual_seed(1)
            with torch.no_grad():
                for param in fp32.parameters():
                    noise = torch.randn(param.shape, generator=generator, device=param.device)
                    param.mul_(1 + 0.05 * noise)
        if phase != "loaded":
            runner = llm.llm_engine.model_executor.driver_worker.model_runner.model
            t0 = time.perf_counter()
            names = 0
            for name, param in fp32.named_parameters():  # TRL 1.16 VLLMGeneration.sync_weights
                runner.load_weights([(name, param.data)])
                names += 1
            llm.reset_prefix_cache()
            torch.cuda.synchronize()
            report["sync"] = {"parameters": names, "seconds": round(time.perf_counter() - t0, 2)}
        sampled = {kind: sample(llm, params, batch) for kind, batch in batches.items()}
        report["phases"][phase] = {}
        score_all(report["phases"][phase], models, processor, batches, sampled,
                  args.temperature)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report["phases"], indent=1), flush=True)


if __name__ == "__main__":
    main()
