"""A study with a proxy beside one without, on the known surface, at one budget.

Usage: ``python benchmarks/proxy_study.py [--seeds 5] [--budget 4] [--proxy-cost 0.1]
[--min-target-runs 2] [--out docs/bench/proxy_study.json]``.

Per seed, two `function` studies of `studies/examples/known_surface.py` in a temporary
workdir, both with `budget` target-run equivalents (``search.max_trials``), the initial design
``centroid+sobol`` of 4 points and parallelism 2: ``targets`` (the plain GP study: `budget`
target trials) and ``proxy`` (``search.proxies`` with one proxy of cost `--proxy-cost`,
`proxy_surface`: biased and noisier; ar1). Reports each study's recommendation, its true
(noise-free) target score and regret against the optimum 0.8, the cost spent, the number of
target and proxy trials and the wall time; then the medians. Prints one JSON object (also
written to `--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from studies.config import load_study_config
from studies.driver import run_study
from studies.examples.known_surface import true_score
from studies.orchestrator import spent_cost
from studies.trials import latest_attempts

OPTIMUM_SCORE = 0.8


def _study(folder: Path, name: str, seed: int, budget: int, proxy: dict | None) -> Path:
    search: dict[str, Any] = {"initial_design": {"kind": "centroid+sobol", "n": 4},
                              "parallelism": 2, "batch_size": 2, "max_trials": budget,
                              "seed": seed}
    target = "studies.examples.known_surface:quadratic_surface"
    if proxy is not None:
        search["proxies"] = proxy
        target = "studies.examples.known_surface:proxy_surface"
    config = {"name": name, "domains": ["alpha", "beta", "gamma"], "search": search,
              "eval": {"objective": {"metric": "out_score"}},
              "launcher": {"kind": "function", "target": target},
              "workdir": str(folder / "runs")}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _run(path: Path) -> dict[str, Any]:
    config = load_study_config(path)
    started = time.perf_counter()
    outcome = run_study(config, poll_interval_s=0.01)
    wall = time.perf_counter() - started
    latest = latest_attempts(outcome.trials)
    rec = outcome.recommendation
    score = None if rec is None else true_score(rec.mixture.to_dict())
    return {
        "recommendation": None if rec is None else rec.mixture.to_dict(),
        "rule": None if rec is None else rec.rule,
        "true_score": score, "regret": None if score is None else OPTIMUM_SCORE - score,
        "cost_spent": spent_cost(latest), "target_trials": sum(r.is_target for r in latest),
        "proxy_trials": sum(not r.is_target for r in latest), "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=4)
    parser.add_argument("--proxy-cost", type=float, default=0.1)
    parser.add_argument("--min-target-runs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    proxy = {"levels": [{"name": "small", "cost": args.proxy_cost}],
             "min_target_runs": args.min_target_runs}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for kind, settings in (("targets", None), ("proxy", proxy)):
                folder = Path(tmp) / f"{kind}-{seed}"
                folder.mkdir()
                result = _run(_study(folder, f"{kind}-{seed}", seed, args.budget, settings))
                runs.append({"seed": seed, "study": kind, **result})
    summary = {}
    for kind in ("targets", "proxy"):
        regrets = [r["regret"] for r in runs if r["study"] == kind and r["regret"] is not None]
        summary[kind] = {
            "median_regret": statistics.median(regrets) if regrets else None,
            "regrets": regrets,
            "mean_target_trials": statistics.mean(r["target_trials"] for r in runs
                                                  if r["study"] == kind),
            "mean_proxy_trials": statistics.mean(r["proxy_trials"] for r in runs
                                                 if r["study"] == kind),
        }
    result = {"budget": args.budget, "proxy_cost": args.proxy_cost,
              "min_target_runs": args.min_target_runs, "seeds": args.seeds,
              "machine": f"{platform.node()} ({os.cpu_count()} cpus)", "summary": summary,
              "runs": runs}
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
