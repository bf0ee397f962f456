"""The demo on a busy machine: `mixopt demo` and warm-start steps beside CPU-bound processes.

    python benchmarks/busy_demo.py --hogs 0,1 --parallelism 1,2 --base-steps 150 \
        --out docs/bench/busy_demo.json

For each number of hogs (processes spinning on one core each, at the same priority, as a
user's other work would) it measures, in fresh subprocesses:
  - ``warm-start``: `--base-steps` steps of the demo's warm start (`build_warm_started`,
    not cached) with 1 and with 2 torch threads: wall and CPU seconds per step;
  - ``demo``: ``mixopt demo --out <tmp>`` (the shipped base copied, then the study) at each
    `--parallelism` (trials at once; each trial has 1 thread, the config's
    ``launcher.env``): wall and CPU seconds, the study's best objective.
Writes one JSON file (machine, load average, every measurement).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WARM_START = """
import dataclasses
import sys
import tempfile
from pathlib import Path
import torch
torch.set_num_threads(int(sys.argv[2]))
from rlvr.models.warm_start import WarmStartRecipe, build_warm_started
recipe = dataclasses.replace(WarmStartRecipe(), steps=int(sys.argv[1]), warmup_steps=1)
build_warm_started(Path(tempfile.mkdtemp()), seed=0, recipe=recipe)
"""


def _spin() -> None:
    while True:
        pass


def _timed(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds (user + system of the process and its children) of `argv`."""
    before, start = os.times(), time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall, after = time.perf_counter() - start, os.times()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hogs", default="0,1")
    p.add_argument("--parallelism", default="1,2")
    p.add_argument("--base-steps", type=int, default=150)
    p.add_argument("--threads", default="1,2",
                   help="torch threads of the warm-start runs ('': none)")
    p.add_argument("--skip-demo", action="store_true")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    rows = []
    for hogs in (int(h) for h in args.hogs.split(",")):
        spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(hogs)]
        for s in spinners:
            s.start()
        try:
            for threads in (int(t) for t in args.threads.split(",") if t):
                run = _timed([sys.executable, "-c", WARM_START, str(args.base_steps),
                              str(threads)], {**env, "OMP_NUM_THREADS": str(threads)})
                row = {"part": "warm-start", "hogs": hogs, "threads": threads,
                       "steps": args.base_steps, **run,
                       "wall_s_per_step": round(run["wall_s"] / args.base_steps, 3),
                       "cpu_s_per_step": round(run["cpu_s"] / args.base_steps, 3)}
                print(json.dumps(row), flush=True)
                rows.append(row)
            for parallelism in [] if args.skip_demo else \
                    (int(x) for x in args.parallelism.split(",")):
                with tempfile.TemporaryDirectory(prefix="busy-demo-") as tmp:
                    run = _timed([str(Path(sys.executable).parent / "mixopt"), "demo",
                                  "--out", tmp, "--parallelism", str(parallelism)], env)
                    found = sorted(Path(tmp).glob("*/recommendation.json"))
                    rec = json.loads(found[0].read_text()) if found else {}
                row = {"part": "demo", "hogs": hogs, "parallelism": parallelism, **run,
                       "best_observed": (rec.get("best_observed") or {}).get("objective")}
                print(json.dumps(row), flush=True)
                rows.append(row)
        finally:
            for s in spinners:
                s.terminate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_at_end": os.getloadavg()},
        "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
