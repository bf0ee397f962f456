"""How many supervised steps does the tiny model need to see? A sweep of warm-start recipes.

    python benchmarks/warm_start_sweep.py --configs lr1e-3,lr3e-3 --steps 4000 --eval-every 500

Trains the tiny Qwen2-VL of `rlvr.models.tiny` on the synthetic training splits with
`rlvr.models.warm_start.train_supervised` (same examples, batches, schedule), on a GPU when
one is present, and every ``--eval-every`` steps scores teacher-forced predictions on held-out
test records of every training domain: the argmax accuracy of the digits of the reasoning
(grid cells, bar values, lengths: what the picture shows, i.e. perception) and of the answer
letter/box tokens given the correct reasoning. Configurations (joined with ``+``): ``lrX``
(peak learning rate), ``bsN`` (batch size), ``fixed`` (constant reasoning text), ``hN`` (text
width N), ``LN`` (text layers), ``vwN`` / ``vdN`` (vision width / depth). Writes JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rlvr.models.loading import load_model_and_processor
from rlvr.models.tiny import TinyModelConfig, build_tiny_qwen2vl
from rlvr.models.warm_start import (
    IGNORE_INDEX,
    WarmStartRecipe,
    collate,
    supervised_examples,
    train_supervised,
)


def parse(name: str, steps: int) -> WarmStartRecipe:
    fields: dict = {"steps": steps, "warmup_steps": min(WarmStartRecipe.warmup_steps, steps)}
    model: dict = {}
    for part in name.split("+"):
        if part.startswith("lr"):
            fields["learning_rate"] = float(part[2:])
        elif part.startswith("bs"):
            fields["batch_size"] = int(part[2:])
        elif part == "fixed":
            fields["thinking"] = "fixed"
        elif part.startswith("h"):  # text width: hN (heads of 16 dims, MLP 2N, KV heads half)
            width = int(part[1:])
            model.update(
                hidden_size=width, intermediate_size=2 * width, num_heads=width // 16,
                num_kv_heads=width // 32,
            )
        elif part.startswith("L"):  # text decoder layers
            model["num_layers"] = int(part[1:])
        elif part.startswith("vw"):  # vision width (4 heads)
            model["vision_embed_dim"] = int(part[2:])
        elif part.startswith("vd"):  # vision depth
            model["vision_depth"] = int(part[2:])
        elif part.startswith("wu"):
            fields["warmup_steps"] = int(part[2:])
        else:
            raise SystemExit(f"unknown part {part!r}")
    if model:
        fields["model"] = TinyModelConfig(**model)
    return WarmStartRecipe(**fields)


@torch.no_grad()
def score(model, processor, examples, device) -> dict:
    tok = processor.tokenizer
    hits: dict = defaultdict(lambda: [0, 0])
    model.eval()
    for domain in dict.fromkeys(e.domain for e in examples):
        batch_examples = [e for e in examples if e.domain == domain]
        for i in range(0, len(batch_examples), 50):
            batch = collate(processor, batch_examples[i : i + 50])
            labels = batch.pop("labels")
            batch = {k: v.to(device) for k, v in batch.items()}
            predicted = model(**batch).logits[:, :-1].argmax(-1).cpu()
            target = labels[:, 1:]
            for r in range(target.shape[0]):
                text = ""
                for t in range(target.shape[1]):
                    y = int(target[r, t])
                    if y == IGNORE_INDEX:
                        continue
                    piece = tok.decode([y])
                    text += piece
                    kind = "answer" if "<answer>" in text and "</answer>" not in text else None
                    if kind is None and "</think>" not in text and piece.strip().isdigit():
                        kind = "digit"
                    if kind:
                        hits[(domain, kind)][0] += int(predicted[r, t] == y)
                        hits[(domain, kind)][1] += 1
    model.train()
    return {f"{d}/{k}": round(a / n, 3) for (d, k), (a, n) in sorted(hits.items()) if n}


def run(name: str, args, device: str) -> dict:
    recipe = parse(name, args.steps)
    examples = supervised_examples(recipe)
    tests = supervised_examples(recipe, split="test", per_domain=args.test_records)
    folder = args.work / f"base-{name}"
    build_tiny_qwen2vl(folder, seed=args.seed, config=recipe.model)
    model, processor = load_model_and_processor(folder, attn_implementation="sdpa")
    model.to(device)
    curve: list[dict] = []
    started = time.perf_counter()

    def on_step(done: int, losses: list[float]) -> None:
        if done % args.eval_every == 0 or done == recipe.steps:
            recent = losses[-50:]
            point = {"step": done, "loss": round(sum(recent) / len(recent), 4),
                     "seconds": round(time.perf_counter() - started, 1),
                     **score(model, processor, tests, device)}
            curve.append(point)
            print(name, json.dumps(point), flush=True)
        if done in args.save_at:
            saved = args.work / f"{name.replace('+', '_')}-step{done}"
            model.save_pretrained(saved)
            processor.save_pretrained(saved)

    train_supervised(model, processor, examples, recipe=recipe, seed=args.seed, on_step=on_step)
    return {"config": name, "recipe": dataclasses.asdict(recipe) | {"model": None}, "curve": curve}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="lr1e-3")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--test-records", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("warm_start_sweep"))
    parser.add_argument("--out", type=Path, default=Path("warm_start_sweep.json"))
    parser.add_argument("--save-at", default="", help="steps after which to save the model")
    args = parser.parse_args()
    args.save_at = {int(s) for s in args.save_at.split(",") if s}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.configs.split(","):
        results.append(run(name, args, device))
        args.out.write_text(json.dumps({"device": device, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
