"""`mixopt eval --backend vllm` against `--backend hf` on one checkpoint: scores, outputs, speed.

Usage (on a CUDA machine with vLLM and mlflow)::

    python benchmarks/vllm_eval_compare.py --checkpoint MODEL_DIR --out vllm_eval_compare.json

Without ``--checkpoint`` the 2B-shaped random bf16 model of grpo_throughput.py is built, with
its vocabulary cut to the local tokenizer's 525 ids (``--vocab-size``; 0 keeps Qwen2-VL's
151936): with the full vocabulary a random model's greedy picks are ids the tokenizer cannot
decode, every completion is the empty string and "identical completions" says nothing. The
test split is the local multiple-choice domain of grpo_throughput.py (`write_domain`, one
prompt length, 224 px noise images), ``--records`` records. Both backends run the documented
command (``python -m studies.cli eval ... --samples``, greedy, ``--max-new-tokens``) as
subprocesses, one after the other; the HF backend on ``cuda:0`` with ``--batch-size``.
Figures: each backend's score and format rate, its wall time (the whole command: imports,
model load, vLLM's engine start, generation, scoring) and the samples/s of that, and how many
completions are identical between the two (greedy decoding in bfloat16 with different kernels
can part after a near-tie of the top two logits; a random model has many).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.grpo_throughput import DOMAIN, build_model_folder, write_domain  # noqa: E402


def run_eval(args, backend: str, checkpoint: Path, domain_file: Path, out: Path) -> dict:
    command = [
        sys.executable, "-m", "studies.cli", "eval", "--checkpoint", str(checkpoint),
        "--benchmarks", DOMAIN, "--domain-file", str(domain_file), "--backend", backend,
        "--max-new-tokens", str(args.max_new_tokens), "--samples", "--out", str(out),
    ]
    if backend == "hf":
        command += ["--device", "cuda:0", "--batch-size", str(args.batch_size)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    record = {"backend": backend, "command": " ".join(command[1:]), "exit_status": done.returncode,
              "wall_seconds": round(wall, 1)}
    if done.returncode != 0:
        record["log_tail"] = (done.stdout + done.stderr)[-3000:]
        return record
    result = json.loads(out.read_text(encoding="utf-8"))
    score = result["benchmarks"][DOMAIN]
    record.update(score=score["score"], n=score["n"], format_rate=score.get("format_rate"),
                  samples_per_second=round(score["n"] / wall, 2))
    return record


def completions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["completion"] for line in lines if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--records", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--vocab-size", type=int, default=-1,
                        help="model vocabulary: -1 the tokenizer's length, 0 Qwen2-VL-2B's")
    parser.add_argument("--image-px", type=int, default=224)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("vllm_eval_compare.json"))
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vllm_eval-"))
    checkpoint = args.checkpoint
    report: dict = {"command": "python benchmarks/vllm_eval_compare.py " + " ".join(sys.argv[1:])}
    if checkpoint is None:
        checkpoint = work / "model"
        vocab = None
        if args.vocab_size != 0:
            from benchmarks.grpo_throughput import build_processor

            vocab = args.vocab_size if args.vocab_size > 0 else len(
                build_processor(args.image_px).tokenizer)
        report["model"] = build_model_folder(checkpoint, "2b", args.image_px, "cuda", seed=0,
                                             vocab_size=vocab)
    report["checkpoint"] = str(checkpoint)
    domain_file = write_domain(work / "domain", args.records, args.image_px, seed=0,
                               test_split=True)
    runs = {b: run_eval(args, b, checkpoint, domain_file, work / f"eval_{b}.json")
            for b in ("hf", "vllm")}
    report["runs"] = list(runs.values())
    if all(r["exit_status"] == 0 for r in runs.values()):
        hf = completions(work / "eval_hf.samples.jsonl")
        vl = completions(work / "eval_vllm.samples.jsonl")
        same = sum(a == b for a, b in zip(hf, vl, strict=True))
        report["identical_completions"] = same
        report["completions"] = len(hf)
        report["same_score"] = runs["hf"]["score"] == runs["vllm"]["score"]
        report["empty_completions"] = {"hf": sum(not c for c in hf),
                                       "vllm": sum(not c for c in vl)}
        report["example"] = {"hf": hf[0][:200], "vllm": vl[0][:200]}
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "model"}, indent=2), flush=True)


if __name__ == "__main__":
    main()
