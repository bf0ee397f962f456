"""Time one proposal round of the search policy (fit + qLogNEI batch) at many domains.

Usage: ``python benchmarks/policy_round.py [--domains 20] [--n 50] [--q 4] [--repeats 3]``.
A seeded smooth surface on `--domains` domains, `--n` noisy observations (after the initial
design), then `SearchPolicy.ask(history, q)` as a study calls it: the GP fit and the batch on
the continuous simplex. Prints one JSON object: median wall and process CPU seconds over the
repeats (issue 14's target: under 30 s at 20 domains and 50 observations on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch

from mixopt import simplex
from mixopt.mixture import MixtureSpace
from mixopt.policy import History, Observation, PolicySettings, SearchPolicy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--n", type=int, default=50, help="observations")
    parser.add_argument("--q", type=int, default=4, help="proposals asked for")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    space = MixtureSpace(tuple(f"d{i}" for i in range(args.domains)))
    rng = np.random.default_rng(0)
    centre = rng.dirichlet(np.ones(args.domains))
    X = simplex.sample(args.n, space, rng, method="sobol")
    y = -3.0 * ((X - centre) ** 2).sum(axis=1) + rng.normal(0.0, 0.01, args.n)
    history = History(tuple(Observation(x, (float(v),)) for x, v in zip(X, y, strict=True)))
    walls, cpus = [], []
    for repeat in range(args.repeats):
        policy = SearchPolicy(PolicySettings(space=space, n_init=1, seed=repeat))
        wall, cpu = time.perf_counter(), time.process_time()
        ask = policy.ask(history, args.q)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if len(ask.proposals) != args.q or not np.all(simplex.is_feasible(ask.X, space)):
            raise SystemExit(f"bad round: {len(ask.proposals)} proposals, notes {ask.notes}")
    print(json.dumps({
        "domains": args.domains, "observations": args.n, "q": args.q, "repeats": args.repeats,
        "threads": args.threads, "median_wall_s": round(statistics.median(walls), 2),
        "median_cpu_s": round(statistics.median(cpus), 2), "wall_s": [round(w, 2) for w in walls],
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }))


if __name__ == "__main__":
    main()
