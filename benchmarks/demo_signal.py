"""Is the demo's mixture signal real? Spread of the objective across the initial design against
the standard deviation of one mixture trained with different seeds (issue #6, section 4).

    python benchmarks/demo_signal.py --out runs/demo-signal --seeds 0,1,2

Runs the demo study's initial design (its own study, ``<out>/demo-synthetic``), then the
design's first mixture (the centroid) again with each further training seed (one study per
seed). Prints and writes ``<out>/demo_signal.json``: the design's objectives, their range and
standard deviation, the seed replicates and their standard deviation, and range / seed std
(the demo needs >= 3). Everything is an ordinary study: re-running resumes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import yaml

from studies.config import load_study_config
from studies.demo import DemoSettings, demo_config_data, trial_budget
from studies.driver import run_study
from studies.trials import completed


def _run(data: dict, path: Path) -> list:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    outcome = run_study(load_study_config(path), poll_interval_s=1.0)
    return completed(outcome.trials)


def _override(data: dict, assignment: str) -> None:
    """Set ``data[a][b][c] = yaml(value)`` for ``"a.b.c=value"``; then sets the trial budget
    (``train.budget``) to ``max_steps`` steps of prompts, unless the assignment was the budget."""
    key, sep, value = assignment.partition("=")
    if not sep:
        raise SystemExit(f"--set {assignment!r}: expected KEY=VALUE")
    *parents, last = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = yaml.safe_load(value)
    if key != "train.budget":
        data["train"]["budget"] = trial_budget(data["train"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo-signal"))
    parser.add_argument("--seeds", default="0,1,2", help="training seeds of the replicates")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model", type=Path, default=None,
                        help="base model folder (default: build/reuse the demo's)")
    parser.add_argument("--parallelism", type=int, default=None, help="trials at once")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="change the demo config, e.g. train.grpo.learning_rate=1e-4 "
                        "(dotted key, YAML value; repeatable)")
    args = parser.parse_args()
    started = time.perf_counter()
    out = args.out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    if args.model is None:
        from rlvr.models.warm_start import ensure_warm_started

        model = ensure_warm_started(out / "models", seed=0)
    else:
        model = args.model
    base = demo_config_data(model, out, DemoSettings(max_steps=args.max_steps, limit=args.limit,
                                                     parallelism=args.parallelism))
    for override in args.overrides:
        _override(base, override)
    n_design = base["search"]["initial_design"]["n"]
    seeds = [int(s) for s in args.seeds.split(",")]

    design = dict(base, search={**base["search"], "max_trials": n_design})
    design["train"] = {**base["train"], "seed": seeds[0]}
    design_trials = _run(design, out / "design.yaml")
    objectives = [float(r.objective) for r in design_trials]
    replicates = [objectives[0]]  # the centroid with the first seed
    for seed in seeds[1:]:
        rep = dict(base, name=f"{base['name']}-seed{seed}",
                   search={**base["search"], "max_trials": 1,
                           "initial_design": {"kind": "centroid+sobol", "n": 1}})
        rep["train"] = {**base["train"], "seed": seed}
        replicates += [float(r.objective) for r in _run(rep, out / f"seed{seed}.yaml")]
    spread = max(objectives) - min(objectives)
    seed_sd = statistics.stdev(replicates) if len(replicates) > 1 else float("nan")
    report = {
        "command": "python benchmarks/demo_signal.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if v is not None and k != "overrides") + "".join(f" --set {o}" for o in args.overrides),
        "train": base["train"],
        "eval_limit": base["eval"]["limit"],
        "objective": base["eval"]["objective"],
        "design": [{"weights": dict(r.weights), "objective": float(r.objective)}
                   for r in design_trials],
        "design_range": spread,
        "design_sd": statistics.stdev(objectives) if len(objectives) > 1 else float("nan"),
        "seed_replicates": replicates,
        "seed_sd": seed_sd,
        # None where it means nothing: no seed variation at all.
        "range_over_seed_sd": spread / seed_sd if seed_sd > 0 else None,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    (out / "demo_signal.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
