"""Evaluation throughput of the verifiable evaluator's batched HF generation, per batch size.

Usage::

    python benchmarks/eval_throughput.py --size tiny --records 64 --batch-sizes 1,4,16,64
    python benchmarks/eval_throughput.py --size 2b --records 128 --batch-sizes 1,8,32,128 \
        --max-new-tokens 128 --out eval_throughput.json      # on a CUDA machine

What it does:

1. Builds a model with random weights and saves it with its processor: ``--size tiny`` is
   `rlvr.models.build_tiny_qwen2vl` (the tests' model); ``--size 2b`` is the Qwen2-VL-2B-shaped
   bf16 model of benchmarks/grpo_throughput.py (`build_model_folder`, rlvr's local tokenizer).
2. Writes the local multiple-choice domain of grpo_throughput.py (`write_domain`) with a test
   split of ``--records`` records (noise PNGs of ``--image-px`` px, prompts of one length).
3. Loads the model as `evaluate_checkpoint` does (`load_model_and_processor`, ``dtype="auto"``,
   on ``cuda:0`` where there is a GPU) and, for each batch size of ``--batch-sizes``, scores the
   test split with `evaluate_with` + `HFGenerator` (greedy, ``--max-new-tokens``): one warm-up
   batch first (not timed), then ``min(records, batch size x --max-batches)`` records timed
   (``--max-batches``: 4 for 2b, every record for tiny).
   The timing covers the whole evaluation (loading and decoding the images, chat template,
   processor, ``generate``, decoding, scoring); ``generate`` alone is timed too.

A random model does not emit EOS, so every sample generates exactly ``--max-new-tokens`` tokens:
the figures are the cost of full-length completions, an upper bound for a trained model that
stops early. Qwen2-VL's vision markers (image/video pad, vision start/end/pad) are suppressed in
generation (``generation_config.suppress_tokens``), as grpo_throughput.py does: a random model
samples them now and then. Figures: samples/s (records / wall time), generated tokens/s
(non-padding new tokens / wall time, and / ``generate`` time), peak GPU memory per batch size
(``torch.cuda.max_memory_allocated``, reset before each). mlflow is stubbed where it is not
installed (importing grpo_throughput.py does it); nothing logs to it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _load_grpo_throughput() -> Any:
    """benchmarks/grpo_throughput.py as a module (it stubs mlflow where it is missing)."""
    spec = importlib.util.spec_from_file_location("grpo_throughput", HERE / "grpo_throughput.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gt = _load_grpo_throughput()  # puts the repo root on sys.path, stubs mlflow if absent

import torch  # noqa: E402
import transformers  # noqa: E402

from evaluators import GenerationSettings, HFGenerator, evaluate_with  # noqa: E402
from rlvr.domains import DomainRegistry, load_domain_file  # noqa: E402
from rlvr.models import build_tiny_qwen2vl, load_model_and_processor  # noqa: E402
from rlvr.models.qwen2vl_tokens import (  # noqa: E402
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
)

NOTE = (
    "random weights never emit EOS: every sample generates exactly max_new_tokens tokens "
    "(full-length completions; a trained model that stops early is faster)"
)


class CountingGenerator(HFGenerator):
    """`HFGenerator` that counts generated tokens and the time spent in ``model.generate``."""

    def __init__(self, model: Any, processor: Any, settings: GenerationSettings) -> None:
        super().__init__(model, processor, settings)
        self.tokens = 0
        self.generate_seconds = 0.0
        self.calls = 0
        # The model's own generate, not a wrapper left by the generator of another batch size.
        inner = model.__dict__.get("_uncounted_generate", model.generate)
        model._uncounted_generate = inner
        pad = processor.tokenizer.pad_token_id

        def counting_generate(*args: Any, **kwargs: Any) -> torch.Tensor:
            _sync()
            started = time.perf_counter()
            output = inner(*args, **kwargs)
            _sync()
            self.generate_seconds += time.perf_counter() - started
            new = output[:, kwargs["input_ids"].shape[1] :]
            self.tokens += int((new != pad).sum()) if pad is not None else new.numel()
            self.calls += 1
            return output

        model.generate = counting_generate  # an instance attribute: this model object only


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def build(args: argparse.Namespace, work: Path, cuda: bool) -> tuple[Path, dict[str, Any]]:
    """The model folder and what was built."""
    folder = work / "model"
    started = time.perf_counter()
    if args.size == "tiny":
        build_tiny_qwen2vl(folder, seed=0)
        info: dict[str, Any] = {"size": "tiny"}
    else:
        info = gt.build_model_folder(folder, args.size, args.image_px, "cuda" if cuda else "cpu", 0)
    info["build_and_save_seconds"] = round(time.perf_counter() - started, 1)
    return folder, info


def measure(args, model, processor, registry, batch_size: int, cuda: bool) -> dict[str, Any]:
    """One batch size: a warm-up batch, then the timed evaluation."""
    spec = registry.get(gt.DOMAIN)
    settings = GenerationSettings(
        backend="hf", batch_size=batch_size, max_new_tokens=args.max_new_tokens
    )
    generator = CountingGenerator(model, processor, settings)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    evaluate_with(generator, [spec], settings, checkpoint="random", limit=batch_size)
    _sync()
    warmup = time.perf_counter() - started
    generator.tokens, generator.generate_seconds, generator.calls = 0, 0.0, 0
    limit = min(args.records, batch_size * args.max_batches)
    started = time.perf_counter()
    result, _ = evaluate_with(generator, [spec], settings, checkpoint="random", limit=limit)
    _sync()
    wall = time.perf_counter() - started
    score = result.benchmarks[gt.DOMAIN]
    return {
        "batch_size": batch_size,
        "records": score.n,
        "generate_calls": generator.calls,
        "warmup_seconds": round(warmup, 2),
        "seconds": round(wall, 3),
        "samples_per_s": round(score.n / wall, 2),
        "generated_tokens": generator.tokens,
        "tokens_per_sample": round(generator.tokens / score.n, 1),
        "tokens_per_s": round(generator.tokens / wall, 1),
        "generate_seconds": round(generator.generate_seconds, 3),
        "generate_tokens_per_s": round(generator.tokens / generator.generate_seconds, 1),
        "generate_share": round(generator.generate_seconds / wall, 3),
        "score": round(score.score, 3),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "2b"), default="tiny")
    parser.add_argument("--records", type=int, default=64, help="test records written")
    parser.add_argument("--batch-sizes", default="1,4,16,64", help="comma-separated")
    parser.add_argument(
        "--max-new-tokens", type=int, default=None, help="default: 128 for 2b, 16 for tiny"
    )
    parser.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="timed batches per batch size at most (records = min(records, size x this)); "
        "default: 4 for 2b, all records for tiny",
    )
    parser.add_argument("--image-px", type=int, default=None, help="default: 224 (2b), 56 (tiny)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (temp if unset)")
    parser.add_argument("--out", type=Path, default=Path("eval_throughput.json"))
    args = parser.parse_args()
    if args.max_new_tokens is None:
        args.max_new_tokens = 128 if args.size == "2b" else 16
    if args.max_batches is None:
        args.max_batches = 4 if args.size == "2b" else args.records
    if args.image_px is None:
        args.image_px = 224 if args.size == "2b" else 56
    sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    if args.threads:
        torch.set_num_threads(args.threads)

    cuda = torch.cuda.is_available()
    work = args.work or Path(tempfile.mkdtemp(prefix="eval_throughput-"))
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "cpu_threads": torch.get_num_threads(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "mlflow_stubbed": gt.MLFLOW_STUBBED,
        "note": NOTE,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": [],
        "errors": {},
    }
    folder, report["model"] = build(args, work, cuda)
    domain_file = gt.write_domain(
        work / "domain", args.records, args.image_px, seed=0, test_split=True
    )
    registry = DomainRegistry(load_domain_file(domain_file))
    model, processor = load_model_and_processor(
        str(folder), dtype="auto", device="cuda:0" if cuda else "cpu"
    )
    tok = processor.tokenizer
    model.generation_config.suppress_tokens = sorted(
        {
            tok.convert_tokens_to_ids(t)
            for t in (IMAGE_PAD, VIDEO_PAD, VISION_START, VISION_END, "<|vision_pad|>")
        }
    )
    report["model"]["dtype"] = str(model.dtype)
    report["model"]["parameters"] = sum(p.numel() for p in model.parameters())
    print(json.dumps(report["model"]), flush=True)
    print(NOTE, flush=True)
    for batch_size in sizes:
        print(f"== batch size {batch_size}", flush=True)
        try:
            row = measure(args, model, processor, registry, batch_size, cuda)
        except Exception as error:  # keep the other batch sizes' figures
            import traceback

            traceback.print_exc()
            report["errors"][str(batch_size)] = f"{type(error).__name__}: {str(error)[:2000]}"
            if cuda:
                torch.cuda.empty_cache()
        else:
            report["results"].append(row)
            print(json.dumps(row), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print(f"\n{report['device']}, size {args.size}, max_new_tokens {args.max_new_tokens} ({NOTE})")
    print(
        "| batch | records | samples/s | tokens/s | generate tokens/s | generate share | peak GiB |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in report["results"]:
        print(
            f"| {r['batch_size']} | {r['records']} | {r['samples_per_s']} | {r['tokens_per_s']} | "
            f"{r['generate_tokens_per_s']} | {r['generate_share']} | {r['peak_gpu_gib']} |"
        )
    for name, error in report["errors"].items():
        print(f"FAILED batch size {name}: {error[:300]}")


if __name__ == "__main__":
    main()
