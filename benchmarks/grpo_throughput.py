"""GRPO throughput on one GPU: TRL's defaults against rlvr's GPU configuration, in one process.

Usage (on a CUDA machine; ``--size tiny`` runs the same code on CPU as a smoke test)::

    python benchmarks/grpo_throughput.py --steps 8 --out grpo_throughput.json
    python benchmarks/grpo_throughput.py --configs trl-default,rlvr-default,rlvr-spg8-nogc \
        --steps 16 --completions 16 --max-completion-length 256

What it does:

1. Builds a Qwen2-VL-2B-shaped model from a config with random weights (``--size 2b``: text
   hidden 1536, 28 layers, 12 heads / 2 KV heads, MLP 8960, vocab 151936, mrope [16, 24, 24],
   tied embeddings; vision depth 32, width 1280, 16 heads, patch 14, merge 2), in bfloat16 as
   the published checkpoint is, and saves it with ``save_pretrained`` beside a processor made
   of rlvr's locally trained tiny tokenizer (Qwen2-VL's special tokens and chat template) and a
   Qwen2-VL image processor. The model's image/video/vision token ids are the tokenizer's. A
   random model does not emit EOS (2 of 151936 ids), so completions run to
   ``--max-completion-length``: a throughput measurement, not a learning one.
2. Writes a local multiple-choice domain (JSONL + PNG noise images, ``format`` + ``accuracy_mc``
   rewards) and a `TrainJob` over it, as the training tests' stand-ins do. All prompts have the
   same token length unless ``--varied-prompts``: with prompts of different lengths, TRL 1.16 +
   transformers 5.17 crashed in Qwen2-VL's ``get_rope_index`` ("shape mismatch") on the H200.
3. Times GRPO steps for each configuration named in ``--configs``, each on a freshly loaded
   copy of the same model and the same data: the model is loaded in ``--weights-dtype``
   (``auto``: the checkpoint's, bfloat16, as `run_training` loaded it until 2026-11-29;
   ``float32``: `run_training`'s default since then, `grpo.weights_dtype`, and what TRL itself
   trains for a float32 checkpoint), vision tower frozen, and trained by TRL's
   `GRPOTrainer` with the domains' reward (`domain_reward`).

   - ``trl-default``: `GRPOConfig` defaults except what the measurement needs (bf16,
     ``--completions`` completions per step as ``per_device_train_batch_size`` with
     ``--num-generations`` per prompt, ``--max-completion-length``, no reports, no saves).
   - ``rlvr-...``: ``grpo_config(job, cuda=True)`` of the job (our default GPU configuration),
     with modifiers joined by ``-``: ``spgN`` (``grpo.steps_per_generation = N``), ``nogc``
     (gradient checkpointing off), ``beta0`` (no KL term, no reference model), ``static``
     (``cache_implementation="static"``), ``compile`` (let transformers compile the decoding
     step: TRL builds its GenerationConfig with ``disable_compile=True``; this flips it after
     the trainer is built), ``padN`` (``pad_to_multiple_of=N``, fewer distinct prompt shapes).
     ``vllm`` (``generation.backend: vllm-colocate``: TRL's ``vllm_mode="colocate"``),
     ``sleep`` (``generation.sleep_mode``, TRL's ``vllm_enable_sleep_mode``: vLLM frees its
     weights and KV cache while the optimizer runs), ``memNN``
     (``generation.gpu_memory_utilization = NN / 100``).
     ``rlvr-default`` has no modifier.

   `run_training` itself is not called: it opens an MLflow run and writes result files, which
   a timing does not need. Where mlflow is not installed (the lent GPU machine), a stub module
   stands in for it so that ``rlvr.training`` imports; nothing calls it.

Figures, per configuration, over whole generation cycles (``steps_per_generation`` optimizer
steps each, the first ``--warmup-cycles`` cycles excluded): seconds per optimizer step (mean),
completion tokens per second = generated completion tokens / wall time of those cycles (the
generation, the reward, the old/reference log-prob passes and the optimizer steps all
included), the decoding rate of ``generate`` alone, and the peak GPU memory
(``torch.cuda.max_memory_allocated``, reset before each configuration's model is loaded). The
ratio is each configuration's completion tokens/s over ``trl-default``'s. Results are written
as JSON after every configuration, so a later failure keeps the earlier figures.
"""

from __future__ import annotations

import argparse
import gc
import importlib.machinery
import importlib.util
import itertools
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _stub_mlflow_if_missing() -> bool:
    """Let ``rlvr.training`` import where mlflow is absent; the benchmark never logs to it."""
    if importlib.util.find_spec("mlflow") is not None:
        return False

    class _Unavailable:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("mlflow is not installed (a stub stands in for the benchmark)")

    mlflow = types.ModuleType("mlflow")
    entities = types.ModuleType("mlflow.entities")
    tracking = types.ModuleType("mlflow.tracking")
    entities.Metric = entities.Param = _Unavailable
    tracking.MlflowClient = _Unavailable
    mlflow.entities, mlflow.tracking = entities, tracking
    for module in (mlflow, entities, tracking):  # find_spec() raises on a module without one
        module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None)
    sys.modules.update({"mlflow": mlflow, "mlflow.entities": entities, "mlflow.tracking": tracking})
    return True


import torch  # noqa: E402
import transformers  # noqa: E402
import trl  # noqa: E402
from PIL import Image  # noqa: E402
from transformers import (  # noqa: E402
    GenerationConfig,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessorPil,
    TrainerCallback,
)
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

# After accelerate, transformers and TRL have checked which trackers are installed.
MLFLOW_STUBBED = _stub_mlflow_if_missing()

from benchmarks.logprob_probe import probe_batch  # noqa: E402
from rlvr.job import TrainJob  # noqa: E402
from rlvr.models import ImageOnlyQwen2VLProcessor, load_model_and_processor  # noqa: E402
from rlvr.models.qwen2vl_tokens import (  # noqa: E402
    ENDOFTEXT,
    IM_END,
    IMAGE_PAD,
    QWEN2VL_CHAT_TEMPLATE,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
)
from rlvr.models.tiny_tokenizer import train_tiny_qwen2_tokenizer  # noqa: E402
from rlvr.training import build_training_data, domain_reward, freeze_vision_tower  # noqa: E402
from rlvr.training.grpo_config import compile_decoding, grpo_config_options  # noqa: E402
from rlvr.training.mixed_precision import rotary_in_autocast_dtype  # noqa: E402
from rlvr.training.run import (  # noqa: E402
    peak_gpu_memory_gib,
    prepare_processor_for_training,
    weights_dtype,
)

DOMAIN = "benchmc"
# Qwen2-VL-2B-Instruct's config.json (text and vision), and a tiny one for CPU smoke tests.
SIZES: dict[str, dict[str, Any]] = {
    "2b": {
        "text": {
            "vocab_size": 151936,
            "hidden_size": 1536,
            "intermediate_size": 8960,
            "num_hidden_layers": 28,
            "num_attention_heads": 12,
            "num_key_value_heads": 2,
            "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-6,
            "mrope_section": [16, 24, 24],
        },
        "vision": {"depth": 32, "embed_dim": 1280, "num_heads": 16, "mlp_ratio": 4},
        "tie_word_embeddings": True,
    },
    "tiny": {
        "text": {
            "vocab_size": 2048,
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-6,
            "mrope_section": [4, 6, 6],
        },
        "vision": {"depth": 1, "embed_dim": 64, "num_heads": 4, "mlp_ratio": 2},
        "tie_word_embeddings": True,
    },
}


# -- the model ---------------------------------------------------------------------------------


def build_processor(image_px: int) -> Any:
    """rlvr's tiny tokenizer (Qwen2-VL specials + chat template) and a Qwen2-VL image processor
    whose largest image is ``image_px`` x ``image_px``."""
    tokenizer = train_tiny_qwen2_tokenizer(vocab_size=512, corpus_samples=400, corpus_seed=0)
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=56 * 56,
        max_pixels=image_px * image_px,
        patch_size=14,
        merge_size=2,
        temporal_patch_size=2,
    )
    try:
        return ImageOnlyQwen2VLProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            chat_template=QWEN2VL_CHAT_TEMPLATE,
        )
    except (TypeError, ValueError, AttributeError):
        # Where torchvision is present the canonical processor (with its video part) is built.
        from transformers import Qwen2VLProcessor, Qwen2VLVideoProcessor

        return Qwen2VLProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=Qwen2VLVideoProcessor(patch_size=14, merge_size=2),
            chat_template=QWEN2VL_CHAT_TEMPLATE,
        )


def build_model_folder(folder: Path, size: str, image_px: int, device: str, seed: int,
                       vocab_size: int | None = None) -> dict:
    """Save a random Qwen2-VL of ``size`` (bf16) and its processor into ``folder``.

    ``vocab_size`` replaces the size's vocabulary (e.g. the tokenizer's length, so that every
    id a random model picks decodes to text); by default Qwen2-VL-2B's 151936 rows, most of
    which the local tokenizer cannot decode."""
    spec = SIZES[size]
    processor = build_processor(image_px)
    tok = processor.tokenizer
    ids = {
        name: tok.convert_tokens_to_ids(name)
        for name in (ENDOFTEXT, IM_END, IMAGE_PAD, VIDEO_PAD, VISION_START, VISION_END)
    }
    text = dict(spec["text"])
    if vocab_size is not None:
        text["vocab_size"] = vocab_size
    mrope = text.pop("mrope_section")
    if text["vocab_size"] < len(tok):
        raise ValueError(f"vocab {text['vocab_size']} < tokenizer {len(tok)}")
    config = Qwen2VLConfig(
        text_config={
            **text,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1_000_000.0,
                "mrope_section": mrope,
            },
            "bos_token_id": ids[ENDOFTEXT],
            "eos_token_id": ids[IM_END],
            "pad_token_id": ids[ENDOFTEXT],
        },
        vision_config={
            **spec["vision"],
            "hidden_size": text["hidden_size"],
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "in_chans": 3,
        },
        image_token_id=ids[IMAGE_PAD],
        video_token_id=ids[VIDEO_PAD],
        vision_start_token_id=ids[VISION_START],
        vision_end_token_id=ids[VISION_END],
        tie_word_embeddings=spec["tie_word_embeddings"],
    )
    started = time.perf_counter()
    torch.manual_seed(seed)
    with torch.device(device):
        model = Qwen2VLForConditionalGeneration._from_config(config, dtype=torch.bfloat16)
    model.generation_config = GenerationConfig(
        bos_token_id=ids[ENDOFTEXT],
        eos_token_id=[ids[IM_END], ids[ENDOFTEXT]],
        pad_token_id=ids[ENDOFTEXT],
    )
    parameters = sum(p.numel() for p in model.parameters())
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    del model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return {
        "size": size,
        "parameters": parameters,
        "token_ids": ids,
        "tokenizer_len": len(tok),
        "build_and_save_seconds": round(time.perf_counter() - started, 1),
    }


# -- the data ----------------------------------------------------------------------------------


def write_domain(
    folder: Path,
    records: int,
    image_px: int,
    seed: int,
    same_length: bool = True,
    test_split: bool = False,
) -> Path:
    """A local multiple-choice domain: JSONL + noise PNGs of ``image_px`` px, in a domain file.

    With ``test_split`` the same records are also the domain's test split (``test_source``),
    so that the evaluators can score it (benchmarks/eval_throughput.py).
    """
    rng = random.Random(seed)
    pixels = random.Random(seed + 1)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    colours = ("red", "green", "blue", "yellow", "purple", "orange", "black", "white")
    shapes = ("circle", "square", "triangle", "star", "diamond", "cross")
    for i in range(records):
        Image.frombytes(
            "RGB", (image_px, image_px), pixels.randbytes(image_px * image_px * 3)
        ).save(images / f"{i}.png")
        options = " ".join(
            f"({c}) {rng.choice(colours)} {rng.choice(shapes)}" for c in "ABCD"[: rng.randint(2, 4)]
        )
        if same_length:
            rng = random.Random(seed)  # the same text (token count) for every record
        problem = (
            f"Which shape is {rng.choice(('left', 'right', 'above', 'below'))} of the "
            f"{rng.choice(colours)} {rng.choice(shapes)}? Options: {options}"
        )
        lines.append(
            json.dumps(
                {
                    "image": f"{i}.png",
                    "problem": problem,
                    "solution": f"<answer> {'AB'[i % 2]} </answer>",
                }
            )
        )
    (folder / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = {"kind": "jsonl", "path": "data.jsonl", "image_dir": "images"}
    domain: dict[str, Any] = {
        "source": source,
        "answer_type": "option_letter",
        "prompt_template": "{problem}  Output the thinking process in <think> "
        "</think> and final answer (option) in <answer> </answer> tags.",
        "rewards": {"format": 1.0, "accuracy_mc": 2.0},
    }
    if test_split:
        domain["test_source"] = dict(source)
    domain_file = folder / "domains.yaml"
    domain_file.write_text(json.dumps({DOMAIN: domain}), encoding="utf-8")
    return domain_file


# -- timing ------------------------------------------------------------------------------------


class CountingGRPOTrainer(GRPOTrainer):
    """`GRPOTrainer` that counts generated completion tokens and the time spent generating."""

    completion_tokens = 0
    generation_seconds = 0.0
    generations = 0
    sync_seconds = 0.0  # vLLM weight syncs (inside generation_seconds)
    probe_limit = 0  # --probe-logps: generations whose batch logprob_probe reads
    probes: list[dict] | None = None  # set per run by run_config

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if self.probes is not None and len(self.probes) < self.probe_limit:
            try:
                self.probes.append(probe_batch(self, output))
            except Exception as error:  # a probe must never stop the measurement
                self.probes.append({"error": f"{type(error).__name__}: {str(error)[:500]}"})
        return output

    def _time_weight_syncs(self) -> None:
        """Time each vLLM weight sync (colocate: the policy's tensors copied into vLLM)."""
        generation = getattr(self, "vllm_generation", None)
        if generation is None:
            return
        sync = generation.sync_weights

        def timed() -> None:
            _sync()
            started = time.perf_counter()
            sync()
            _sync()
            self.sync_seconds += time.perf_counter() - started

        generation.sync_weights = timed

    def _generate_single_turn(self, *args: Any, **kwargs: Any):
        _sync()
        started = time.perf_counter()
        completion_ids, logprobs = super()._generate_single_turn(*args, **kwargs)
        _sync()
        self.generation_seconds += time.perf_counter() - started
        self.completion_tokens += sum(len(ids) for ids in completion_ids)
        self.generations += 1
        return completion_ids, logprobs


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepClock(TrainerCallback):
    """Marks (time, completion tokens, generation seconds) at the start and after each step."""

    def __init__(self) -> None:
        self.trainer: CountingGRPOTrainer | None = None
        self.marks: list[tuple[float, int, float]] = []

    def _mark(self) -> None:
        _sync()
        t = self.trainer
        self.marks.append((time.perf_counter(), t.completion_tokens, t.generation_seconds))

    def on_step_begin(self, args, state, control, **kwargs):
        if not self.marks:
            self._mark()

    def on_step_end(self, args, state, control, **kwargs):
        self._mark()


def parse_config(name: str) -> dict[str, Any]:
    """``trl-default`` or
    ``rlvr[-spgN][-nogc|-gc][-beta0][-static][-compile|-nocompile][-padN][-vllm][-sleep][-memNN]``.
    ``rlvr-default`` is `grpo_config`'s GPU default (since 2026-11-28: steps per generation for
    >= 256 completions, no gradient checkpointing, static cache + compiled decoding)."""
    if name == "trl-default":
        return {"base": "trl"}
    parts = name.split("-")
    if parts[0] != "rlvr":
        raise SystemExit(f"unknown configuration {name!r}")
    config: dict[str, Any] = {"base": "rlvr", "grpo": {}, "options": {}, "compile": False,
                              "generation": {}}
    for part in parts[1:]:
        if part == "default":
            continue
        if part.startswith("spg") and part[3:].isdigit():
            config["grpo"]["steps_per_generation"] = int(part[3:])
        elif part == "nogc":
            config["grpo"]["gradient_checkpointing"] = False
        elif part == "gc":
            config["grpo"]["gradient_checkpointing"] = True
        elif part == "nocompile":
            config["generation"]["compile_decoding"] = False
        elif part == "beta0":
            config["grpo"]["beta"] = 0.0
        elif part == "static":
            config["options"]["cache_implementation"] = "static"
        elif part == "compile":
            config["compile"] = True
        elif part.startswith("pad") and part[3:].isdigit():
            config["options"]["pad_to_multiple_of"] = int(part[3:])
        elif part == "vllm":
            config["generation"]["backend"] = "vllm-colocate"
        elif part == "sleep":
            config["generation"]["sleep_mode"] = True
        elif part.startswith("mem") and part[3:].isdigit() and 0 < int(part[3:]) <= 100:
            config["generation"]["gpu_memory_utilization"] = int(part[3:]) / 100
        else:
            raise SystemExit(f"unknown modifier {part!r} in {name!r}")
    return config


def vllm_logit_bias(token_ids: list[int]) -> dict[int, float]:
    """A vLLM ``logit_bias`` that forbids ``token_ids`` (exp(-100) is 0 next to any logit)."""
    return {int(i): -100.0 for i in token_ids}


def make_job(args, model: Path, domain_file: Path, out: Path, grpo: dict, steps: int,
             generation: dict | None = None) -> TrainJob:
    prompts = steps * args.completions // args.num_generations + args.completions
    return TrainJob.model_validate(
        {
            "model": str(model),
            "domain_files": [str(domain_file)],
            "domains": {DOMAIN: 1.0},
            "budget": prompts,
            "seed": 0,
            "output_dir": str(out),
            "save_steps": 10**9,
            "max_steps": steps,
            "grpo": {
                "num_generations": args.num_generations,
                "per_device_train_batch_size": args.completions,
                "max_completion_length": args.max_completion_length,
                "weights_dtype": args.weights_dtype,
                **grpo,
            },
            "generation": generation or {},
        },
        context={"known_domains": None},
    )


def run_config(args, name: str, model_dir: Path, domain_file: Path, work: Path) -> dict:
    spec = parse_config(name)
    cuda = torch.cuda.is_available()
    out = work / name
    grpo, generation = spec.get("grpo", {}), spec.get("generation", {})
    spg = 1
    if spec["base"] == "rlvr":
        probe = make_job(args, model_dir, domain_file, out, grpo, 1, generation)
        spg = grpo_config_options(probe, out, cuda=cuda)["steps_per_generation"]
    wanted = args.baseline_steps if spec["base"] == "trl" and args.baseline_steps else args.steps
    cycles = args.warmup_cycles + max(1, math.ceil(wanted / spg))
    steps = cycles * spg
    job = make_job(args, model_dir, domain_file, out, grpo, steps, generation)
    data = build_training_data(job)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model, processor = load_model_and_processor(str(model_dir), dtype=weights_dtype(job))
    processor = prepare_processor_for_training(processor)  # as run_training does (trl#5785)
    freeze_vision_tower(model)
    # A random policy samples Qwen2-VL's vision markers now and then; a completion holding
    # <|vision_start|> etc. breaks the model's 3-D rope index in the next forward pass
    # (get_rope_index: "shape mismatch"). TRL suppresses only <|image_pad|>; every
    # configuration here suppresses all of them (replacing TRL's list, which this includes).
    suppress = sorted(
        {
            processor.tokenizer.convert_tokens_to_ids(token)
            for token in (IMAGE_PAD, VIDEO_PAD, VISION_START, VISION_END, "<|vision_pad|>")
        }
    )
    if spec["base"] == "trl":
        options: dict[str, Any] = {
            "output_dir": str(out),
            "per_device_train_batch_size": args.completions,
            "num_generations": args.num_generations,
            "max_completion_length": args.max_completion_length,
            "max_steps": steps,
            "report_to": [],
            "save_strategy": "no",
            "logging_steps": 1,
            "disable_tqdm": True,
            "generation_kwargs": {"suppress_tokens": suppress},
        }
        if not cuda:
            options.update(use_cpu=True, bf16=False, gradient_checkpointing=False)
    else:
        options = grpo_config_options(job, out, cuda=cuda)
        options.update(save_strategy="no", disable_tqdm=True, **spec["options"])
        if options.get("use_vllm"):
            # vLLM's SamplingParams has no suppress_tokens: a large negative bias instead.
            options["generation_kwargs"] = {"logit_bias": vllm_logit_bias(suppress)}
        else:
            options["generation_kwargs"] = {"suppress_tokens": suppress}
    config = GRPOConfig(**options)
    clock = StepClock()
    trainer = CountingGRPOTrainer(
        model=model,
        reward_funcs=[domain_reward(data.specs)],
        args=config,
        train_dataset=data.dataset,
        processing_class=processor,
        callbacks=[clock],
    )
    clock.trainer = trainer
    trainer.probe_limit, trainer.probes = args.probe_logps, []
    trainer._time_weight_syncs()
    compiled = bool(spec.get("compile")) or (spec["base"] == "rlvr"
                                              and compile_decoding(job, cuda=cuda))
    if compiled:
        trainer.generation_config.disable_compile = False
        rotary_in_autocast_dtype(model)  # as run_training: one dtype in the static cache
    started = time.perf_counter()
    trainer.train()
    total = time.perf_counter() - started
    warm = args.warmup_cycles * spg
    t0, tok0, g0 = clock.marks[warm]
    t1, tok1, g1 = clock.marks[-1]
    timed_steps = len(clock.marks) - 1 - warm
    wall = t1 - t0
    tokens = tok1 - tok0
    result = {
        "config": name,
        "steps_per_generation": config.steps_per_generation,
        "generation_batch_size": config.generation_batch_size,
        "gradient_checkpointing": bool(config.gradient_checkpointing),
        "beta": config.beta,
        "cache_implementation": config.cache_implementation,
        "compile_decoding": compiled,
        "weights_dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "timed_steps": timed_steps,
        "warmup_steps": warm,
        "seconds_per_step": round(wall / timed_steps, 3),
        "completion_tokens": tokens,
        "completion_tokens_per_s": round(tokens / wall, 1),
        "generate_seconds_per_cycle": round((g1 - g0) / (timed_steps / spg), 3),
        "generate_tokens_per_s": round(tokens / (g1 - g0), 1) if g1 > g0 else None,
        "mean_completion_length": round(tokens / (timed_steps * args.completions), 1),
        "generation_backend": job.generation.backend,
        "vllm_gpu_memory_utilization": config.vllm_gpu_memory_utilization if config.use_vllm
        else None,
        "vllm_sleep_mode": bool(config.vllm_enable_sleep_mode) if config.use_vllm else None,
        "weight_sync_seconds_total": round(trainer.sync_seconds, 3),
        "step_seconds": [round(b[0] - a[0], 3) for a, b in itertools.pairwise(clock.marks)],
        "train_seconds_total": round(total, 1),
        "peak_gpu_gib": peak_gpu_memory_gib(),
    }
    if trainer.probes:
        result["logprob_probe"] = trainer.probes
    del trainer, model, processor
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return result


def _version_of(dist: str) -> str | None:
    """An installed distribution's version, None where it is absent (imports nothing)."""
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=None, help="comma-separated; see the module doc")
    parser.add_argument(
        "--steps",
        type=int,
        default=8,
        help="timed optimizer steps per config (rounded up to whole generation cycles)",
    )
    parser.add_argument(
        "--baseline-steps",
        type=int,
        default=None,
        help="timed steps of trl-default (default: --steps; its steps are slow and alike)",
    )
    parser.add_argument("--warmup-cycles", type=int, default=1)
    parser.add_argument(
        "--weights-dtype",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="dtype every configuration's model is loaded in; auto: the checkpoint's (bfloat16); "
        "float32: as run_training's default (grpo.weights_dtype) and TRL's for a float32 model",
    )
    parser.add_argument(
        "--steps-per-generation",
        type=int,
        default=8,
        help="the spg of the default candidate rlvr-spgN-nogc",
    )
    parser.add_argument("--completions", type=int, default=16, help="completions per step")
    parser.add_argument("--num-generations", type=int, default=8, help="completions per prompt")
    parser.add_argument("--max-completion-length", type=int, default=256)
    parser.add_argument("--size", choices=sorted(SIZES), default="2b")
    parser.add_argument("--image-px", type=int, default=224)
    parser.add_argument("--records", type=int, default=64)
    parser.add_argument(
        "--varied-prompts",
        action="store_true",
        help="prompts of different "
        "lengths (crashes TRL 1.16 + transformers 5.17 Qwen2-VL when "
        "steps_per_generation > 1: mm_token_type_ids misaligned)",
    )
    parser.add_argument(
        "--probe-logps",
        type=int,
        default=0,
        help="read the first N generation batches with benchmarks/logprob_probe.py "
        "(vLLM vs trainer log-probabilities inside training)",
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (temp if unset)")
    parser.add_argument("--out", type=Path, default=Path("grpo_throughput.json"))
    args = parser.parse_args()
    configs = args.configs or f"trl-default,rlvr-default,rlvr-spg{args.steps_per_generation}-nogc"
    names = [c.strip() for c in configs.split(",") if c.strip()]
    for name in names:
        parse_config(name)

    cuda = torch.cuda.is_available()
    work = args.work or Path(tempfile.mkdtemp(prefix="grpo_throughput-"))
    report: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "vllm": _version_of("vllm"),
        },
        "mlflow_stubbed": MLFLOW_STUBBED,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": [],
        "errors": {},
    }
    report["model"] = build_model_folder(
        work / "model", args.size, args.image_px, "cuda" if cuda else "cpu", seed=0
    )
    domain_file = write_domain(
        work / "domain", args.records, args.image_px, seed=0, same_length=not args.varied_prompts
    )
    print(json.dumps(report["model"]), flush=True)
    for name in names:
        print(f"== {name}", flush=True)
        try:
            result = run_config(args, name, work / "model", domain_file, work / "runs")
        except Exception as error:
            traceback.print_exc()
            report["errors"][name] = f"{type(error).__name__}: {str(error)[:2000]}"
            gc.collect()
            if cuda:
                torch.cuda.empty_cache()
        else:
            report["results"].append(result)
            print(json.dumps({k: v for k, v in result.items() if k != "step_seconds"}), flush=True)
        base = next((r for r in report["results"] if r["config"] == "trl-default"), None)
        for r in report["results"]:
            if base:
                r["ratio_to_trl_default"] = round(
                    r["completion_tokens_per_s"] / base["completion_tokens_per_s"], 2
                )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print("\n| config | s/step | completion tok/s | generate tok/s | peak GiB | vs TRL default |")
    print("|---|---|---|---|---|---|")
    for r in report["results"]:
        print(
            f"| {r['config']} | {r['seconds_per_step']} | {r['completion_tokens_per_s']} | "
            f"{r['generate_tokens_per_s']} | {r['peak_gpu_gib']} | "
            f"{r.get('ratio_to_trl_default', '-')} |"
        )
    for name, error in report["errors"].items():
        print(f"FAILED {name}: {error[:300]}")


if __name__ == "__main__":
    main()
