"""Is the demo's mixture signal real? Spread of the objective across the initial design against
the standard deviation of one mixture trained with different seeds (issue #6, section 4).

    python benchmarks/demo_signal.py --out runs/demo-signal --seeds 0,1,2

Runs the demo study's initial design (its own study, ``<out>/demo-synthetic``), then the
design's centroid (uniform mixture; ``--replicate DOMAIN``: that domain's vertex) again with
each further training seed (one study per seed). Prints and writes
``<out>/demo_signal.json``: the design's objectives, their range and standard deviation, the
seed replicates and their standard deviation, and range / seed std (the demo needs >= 3).
Everything is an ordinary study: re-running resumes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import yaml

from studies.config import InitialDesign, load_study_config
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


def _design_size(data: dict) -> int:
    """Trials of the config's initial design (fixed designs such as vertices+centroid ignore n)."""
    from mixopt.bench.strategies import initial_design
    from mixopt.mixture import MixtureSpace

    spec = InitialDesign(**data["search"]["initial_design"])  # its defaults (n) included
    space = MixtureSpace(tuple(data["domains"]))
    return len(initial_design(spec.kind, space, spec.n, seed=data["search"]["seed"]))


def _replicated_mixture(domains: list, vertex: str | None) -> dict:
    """The centroid (uniform mixture), or the vertex of domain ``vertex``."""
    if vertex is not None and vertex not in domains:
        raise SystemExit(f"--replicate {vertex!r}: not one of the demo's domains {domains}")
    return {d: (1.0 if d == vertex else 0.0) if vertex else 1 / len(domains) for d in domains}


def _equal(weights: dict, target: dict) -> bool:
    return all(abs(weights.get(d, 0.0) - w) < 1e-6 for d, w in target.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo-signal"))
    parser.add_argument("--seeds", default="0,1,2", help="training seeds of the replicates")
    parser.add_argument("--replicate", default=None, metavar="DOMAIN",
                        help="replicate the vertex of DOMAIN (all weight on it) instead of the "
                        "centroid")
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
    seeds = [int(s) for s in args.seeds.split(",")]

    design = dict(base, search={**base["search"], "max_trials": _design_size(base)})
    design["train"] = {**base["train"], "seed": seeds[0]}
    design_trials = _run(design, out / "design.yaml")
    objectives = [float(r.objective) for r in design_trials]
    target = _replicated_mixture(base["domains"], args.replicate)
    same = [i for i, r in enumerate(design_trials) if _equal(r.weights, target)]
    # The replicated mixture with the first seed is usually in the design already.
    replicates = [objectives[same[0]]] if same else []
    # The centroid of the space bounded to one vertex is that vertex.
    bounds = {} if args.replicate is None else {args.replicate: [1.0, 1.0]}
    for seed in (seeds[1:] if same else seeds):
        tag = (f"{args.replicate}-" if args.replicate else "") + f"seed{seed}"
        name = f"{base['name']}-{tag}"
        rep = dict(base, name=name,
                   search={**base["search"], "max_trials": 1, "bounds": bounds,
                           "initial_design": {"kind": "centroid+sobol", "n": 1}})
        rep["train"] = {**base["train"], "seed": seed}
        replicates += [float(r.objective) for r in _run(rep, out / f"{tag}.yaml")]
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
        "replicated_mixture": target,
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
