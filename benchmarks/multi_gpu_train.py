"""`mixopt train` on several GPUs through `accelerate launch`, against the same job on one GPU.

Usage (on a host with >= 2 CUDA GPUs and mlflow installed)::

    python benchmarks/multi_gpu_train.py --processes 1,2 --steps 12 --out multi_gpu.json

What it does, per process count N of ``--processes``:

1. (once) builds a Qwen2-VL-2B-shaped model from a config with random weights and a local MC
   domain, exactly as benchmarks/grpo_throughput.py does (``--size tiny`` for a CPU-free smoke
   test of the same path);
2. writes a `TrainJob` with ``grpo.num_processes = N``, ``--completions`` completions per device
   and step, our GPU defaults otherwise, MLflow in a sqlite file;
3. runs the documented command, ``accelerate launch --num_processes N MIXOPT train job.yaml``,
   as a subprocess (MIXOPT is ``mixopt`` on PATH, or ``--module studies.cli`` where it is not
   installed);
4. checks what a user relies on: exit status 0, one ``train_result.json`` (complete, the
   steps asked, the samples per domain), one MLflow run holding the curves, the ``final/``
   model loadable.

Figures: wall time of the launch, ``runtime_seconds`` of the result, seconds per optimizer step
in the steady state (from the MLflow ``loss`` metric's timestamps over whole generation cycles,
the first ``--warmup-steps`` steps excluded: compile, first generation), completions per second
over the whole world (N x completions per device / seconds per step), and completion tokens per
second (times the logged mean completion length). The ratio is each N's completions per second
over N = 1's. Written as JSON after every N.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.grpo_throughput import DOMAIN, build_model_folder, write_domain
from rlvr.job import TrainJob
from rlvr.training.grpo_config import grpo_config_options
from studies.launchers.local import free_port


def _mixopt() -> list[str]:
    """How accelerate launches ``mixopt``: its script, or the module where it is not installed."""
    found = shutil.which("mixopt")
    return [found] if found else ["--module", "studies.cli"]


def _job(args, model: Path, domain_file: Path, out: Path, processes: int) -> dict:
    prompts_per_step = processes * args.completions // args.num_generations
    return {
        "model": str(model),
        "domain_files": [str(domain_file)],
        "domains": {DOMAIN: 1.0},
        "budget": prompts_per_step * (args.steps + 2),
        "seed": 0,
        "output_dir": str(out / "train"),
        "save_steps": 10**6,
        "max_steps": args.steps,
        "grpo": {
            "num_generations": args.num_generations,
            "per_device_train_batch_size": args.completions,
            "num_processes": processes,
            "max_completion_length": args.max_completion_length,
            "weights_dtype": args.weights_dtype,
            **({"steps_per_generation": args.steps_per_generation}
               if args.steps_per_generation else {}),
        },
        "generation": {
            "backend": args.generation_backend,
            "gpu_memory_utilization": args.gpu_memory_utilization,
        },
        "tracking": {"mlflow_tracking_uri": f"sqlite:///{out / 'mlflow.db'}"},
    }


def _steady_seconds_per_step(client, run_id: str, warmup: int, cycle: int) -> tuple[float, float]:
    """Seconds per step over whole generation cycles after ``warmup`` steps, and the mean
    completion length, from MLflow.

    A cycle is ``cycle`` optimizer steps: one generation then training passes on its
    completions. The window starts at the end of a cycle (the first at or after ``warmup``) and
    holds whole cycles only, so that every window holds as many generations as steps require.
    """
    loss = {m.step: m for m in client.get_metric_history(run_id, "loss")}
    lengths = client.get_metric_history(run_id, "completions/mean_length")
    start = -(-warmup // cycle) * cycle
    end = start + cycle * ((max(loss, default=0) - start) // cycle)
    if end <= start or start not in loss or end not in loss:
        raise SystemExit(f"steps {sorted(loss)} logged; need whole {cycle}-step cycles after "
                         f"--warmup-steps {warmup}: raise --steps")
    seconds = (loss[end].timestamp - loss[start].timestamp) / 1000 / (end - start)
    return seconds, sum(m.value for m in lengths) / max(1, len(lengths))


def run(args, processes: int, model: Path, domain_file: Path, work: Path) -> dict:
    import yaml

    out = work / f"n{processes}-{args.weights_dtype}-{args.generation_backend}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    job = _job(args, model, domain_file, out, processes)
    (out / "job.yaml").write_text(yaml.safe_dump(job, sort_keys=False), encoding="utf-8")
    command = [
        "accelerate", "launch", "--num_processes", str(processes), "--num_machines", "1",
        "--main_process_port", str(free_port()),
    ]
    command += [*_mixopt(), "train", str(out / "job.yaml")]
    started = time.perf_counter()
    with open(out / "launch.log", "w", encoding="utf-8") as log:
        status = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - started
    record: dict = {"processes": processes, "command": " ".join(command), "exit_status": status,
                    "launch_wall_seconds": round(wall, 1)}
    if status != 0:
        record["log_tail"] = (out / "launch.log").read_text(encoding="utf-8")[-3000:]
        return record
    from mlflow.tracking import MlflowClient

    from rlvr.training import read_result

    result = read_result(out / "train")
    client = MlflowClient(job["tracking"]["mlflow_tracking_uri"])
    # The steps per generation run_training used (GPU or not, generation backend).
    train_job = TrainJob.model_validate(job, context={"known_domains": None})
    cycle = grpo_config_options(train_job)["steps_per_generation"]
    seconds, length = _steady_seconds_per_step(client, result.mlflow_run_id, args.warmup_steps,
                                               cycle)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    completions = processes * args.completions
    record.update(
        complete=result.complete,
        steps=result.steps,
        samples=result.samples,
        runtime_seconds=result.runtime_seconds,
        weights_dtype=args.weights_dtype,
        generation_backend=args.generation_backend,
        peak_gpu_memory_gib=result.peak_gpu_memory_gib,
        mlflow_runs=len(runs),
        final_loadable=(Path(result.final_checkpoint) / "config.json").is_file(),
        steps_per_generation=cycle,
        steady_seconds_per_step=round(seconds, 3),
        completions_per_step=completions,
        completions_per_second=round(completions / seconds, 2),
        mean_completion_length=round(length, 1),
        completion_tokens_per_second=round(completions * length / seconds, 1),
    )
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,2", help="process (GPU) counts, comma-separated")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup-steps", type=int, default=4)
    parser.add_argument("--completions", type=int, default=16, help="completions per device")
    parser.add_argument("--num-generations", type=int, default=8)
    parser.add_argument("--max-completion-length", type=int, default=256)
    parser.add_argument("--size", default="2b")
    parser.add_argument("--weights-dtype", default="float32", choices=("float32", "bfloat16"),
                        help="grpo.weights_dtype: float32 master weights (the default) or bf16")
    parser.add_argument("--generation-backend", default="hf", choices=("hf", "vllm-colocate"),
                        help="generation.backend of the job (vllm-colocate needs vLLM)")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.3,
                        help="generation.gpu_memory_utilization (vllm-colocate)")
    parser.add_argument("--steps-per-generation", type=int, default=None,
                        help="grpo.steps_per_generation (default: the job's default)")
    parser.add_argument("--image-px", type=int, default=224)
    parser.add_argument("--work", type=Path, default=Path("multi_gpu_work"))
    parser.add_argument("--out", type=Path, default=Path("multi_gpu.json"))
    args = parser.parse_args()
    import torch

    args.work.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = args.work / "model"
    built = build_model_folder(model, args.size, args.image_px, device, seed=0)
    domain_file = write_domain(args.work / "domain", 64, args.image_px, seed=0)
    report = {
        "command": "python benchmarks/multi_gpu_train.py " + " ".join(sys.argv[1:]),
        "machine": {
            "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "model": built,
        "runs": [],
    }
    for n in (int(p) for p in args.processes.split(",")):
        report["runs"].append(run(args, n, model, domain_file, args.work))
        base = report["runs"][0].get("completions_per_second")
        for r in report["runs"]:
            if base and r.get("completions_per_second"):
                r["speedup_vs_first"] = round(r["completions_per_second"] / base, 2)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(report["runs"][-1], indent=2), flush=True)


if __name__ == "__main__":
    main()
