"""Inside a GRPO step with vLLM: where do vLLM's and the trainer's log-probabilities part?

Used by ``grpo_throughput.py --probe-logps N`` (issue 17). TRL logs
``sampling/sampling_logp_difference/mean`` at about 0.88 nats per token in every vLLM colocate
run on the lent H100, while `vllm_logprob_check.py` found vLLM and transformers within 0.02
nats outside training. This probe looks at the trainer's own batch, right after TRL built it
(``_generate_and_score_completions``'s output), for the first N generations:

- the per-token difference |old - sampling| over the completion mask, by completion position
  (a prompt-side disagreement shows from the first token) and by whether the sample has images;
- whether TRL dropped the batch's images (its "truncation safety" removes ``pixel_values``
  when the image-pad tokens in the prompt ids vLLM returned do not match the HF processor's
  image grid: the trainer then scores image prompts without their images);
- the same samples rescored one at a time without padding, through TRL's fused log-prob head
  (``_get_per_token_logps_and_entropies``) and through the model's plain forward in float32
  log-softmax: batched vs one-by-one separates padding and batching; fused vs plain separates
  TRL's chunked log-prob kernel.

Shapes: prompt_ids (B, P) left-padded, completion_ids (B, C) right-padded, per-token log-probs
(B, C). Nothing is changed in the batch; the probe only reads and rescores under no_grad.
"""

from __future__ import annotations

from typing import Any

import torch

POSITION_BUCKETS = ((0, 1), (1, 4), (4, 16), (16, 64), (64, 1 << 30))


def _mean(values: torch.Tensor) -> float | None:
    return round(values.mean().item(), 4) if values.numel() else None


def _by_position(diff: torch.Tensor, mask: torch.Tensor) -> dict[str, float | None]:
    positions = torch.arange(diff.shape[1], device=diff.device).expand_as(diff)
    out = {}
    for lo, hi in POSITION_BUCKETS:
        keep = mask & (positions >= lo) & (positions < hi)
        out[f"{lo}-{hi if hi < 1 << 30 else 'end'}"] = _mean(diff[keep])
    return out


def _sample_inputs(output: dict[str, Any], i: int) -> tuple[torch.Tensor, int, dict[str, Any], int]:
    """Sample ``i`` unpadded: (ids (1, L), completion length, multimodal kwargs, image count)."""
    prompt = output["prompt_ids"][i][output["prompt_mask"][i].bool()]
    length = int(output["completion_mask"][i].sum().item())
    ids = torch.cat([prompt, output["completion_ids"][i][:length]])[None]
    kwargs: dict[str, Any] = {}
    images = output.get("num_images")
    count = images[i] if images else 0
    if count and "pixel_values" in output and "image_grid_thw" in output:
        thw = output["image_grid_thw"]
        first = sum(images[:i])
        rows = thw.prod(dim=-1)
        start = int(rows[:first].sum().item())
        stop = start + int(rows[first:first + count].sum().item())
        kwargs["pixel_values"] = output["pixel_values"][start:stop]
        kwargs["image_grid_thw"] = thw[first:first + count]
        mm = torch.zeros_like(ids)
        mm[ids == output["_image_pad_id"]] = 1
        kwargs["mm_token_type_ids"] = mm
    return ids, length, kwargs, count


def _plain_logps(model: Any, ids: torch.Tensor, length: int, kwargs: dict[str, Any],
                 temperature: float, accelerator: Any) -> torch.Tensor:
    """The model's own forward (logits), float32 log-softmax: (length,)."""
    with accelerator.autocast():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False,
                       **kwargs).logits
    logits = logits[0, -length - 1:-1].float() / temperature
    return torch.log_softmax(logits, dim=-1).gather(-1, ids[0, -length:, None])[:, 0]


def probe_batch(trainer: Any, output: dict[str, Any], max_samples: int = 8) -> dict[str, Any]:
    """Statistics of one generation batch (see the module doc); JSON-ready."""
    old = output.get("old_per_token_logps")
    sampled = output.get("sampling_per_token_logps")
    if old is None or sampled is None:
        return {"skipped": "no old or sampling log-probs in the batch (not a vLLM run?)"}
    mask = output["completion_mask"].bool()
    diff = (old.float() - sampled.float()).abs().nan_to_num(0.0)
    images = output.get("num_images") or [0] * diff.shape[0]
    has_image = torch.tensor([n > 0 for n in images], device=diff.device)[:, None].expand_as(mask)
    image_pad = trainer.processing_class.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    pad_tokens = (output["prompt_ids"] == image_pad).sum(dim=1).tolist()
    report: dict[str, Any] = {
        "batch": list(diff.shape),
        "mean_diff": _mean(diff[mask]),
        "mean_diff_with_image": _mean(diff[mask & has_image]),
        "mean_diff_text_only": _mean(diff[mask & ~has_image]),
        "mean_diff_by_position": _by_position(diff, mask),
        "signed_mean_old_minus_sampling": _mean((old.float() - sampled.float())[mask]),
        "images_per_sample": list(images),
        "image_pad_tokens_per_prompt": pad_tokens,
        "pixel_values_in_batch": "pixel_values" in output,
        "image_grid_thw": output["image_grid_thw"].tolist() if "image_grid_thw" in output else None,
        "prompt_padding_per_sample": (~output["prompt_mask"].bool()).sum(dim=1).tolist(),
    }
    output = {**output, "_image_pad_id": image_pad}
    model = trainer.model
    rows = []
    with torch.no_grad():
        for i in range(min(max_samples, diff.shape[0])):
            ids, length, kwargs, count = _sample_inputs(output, i)
            if length == 0:
                continue
            labels = {k: v for k, v in kwargs.items() if k != "mm_token_type_ids"}
            fused, _, _ = trainer._get_per_token_logps_and_entropies(
                model, ids, torch.ones_like(ids), length, batch_size=1,
                num_images=[count] if count else None,
                mm_token_type_ids=kwargs.get("mm_token_type_ids"), **labels)
            plain = _plain_logps(model, ids, length, kwargs, trainer.temperature,
                                 trainer.accelerator)
            vllm = sampled[i, :length].float()
            batched = old[i, :length].float()
            rows.append({
                "sample": i,
                "images": count,
                "completion_tokens": length,
                "batched_vs_vllm": _mean((batched - vllm).abs()),
                "single_fused_vs_vllm": _mean((fused[0].float() - vllm).abs()),
                "single_plain_vs_vllm": _mean((plain - vllm).abs()),
                "single_fused_vs_batched": _mean((fused[0].float() - batched).abs()),
                "single_plain_vs_fused": _mean((plain - fused[0].float()).abs()),
                "first_token": {
                    "vllm": round(vllm[0].item(), 3),
                    "batched": round(batched[0].item(), 3),
                    "single_plain": round(plain[0].item(), 3),
                },
            })
    report["samples"] = rows
    return report
