"""Time fitting the GP and proposing a batch on a smooth 5-domain mixture surface.

Usage: ``python benchmarks/propose_speed.py [--n 50] [--q 4] [--repeats 3] [--kernel matern]``.
Prints the median wall-clock and CPU seconds of each step over the repeats (target: fit +
propose < 10 s on 2 CPU cores). CPU seconds are the fairer figure on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from mixopt import acquisition, simplex
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.gp import KERNELS, GPSurrogate

DOMAINS = ("coco", "lisa", "geoqav", "sat", "scienceqa")
OPTIMUM = np.array([0.35, 0.25, 0.15, 0.15, 0.10])


def smooth_surface(X: np.ndarray) -> np.ndarray:
    """A smooth objective with an interior optimum and a mild interaction (`n x 5` -> `n`)."""
    return -3.0 * ((X - OPTIMUM) ** 2).sum(axis=1) + 0.5 * X[:, 0] * X[:, 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="number of observations")
    parser.add_argument("--q", type=int, default=4, help="batch size to propose")
    parser.add_argument("--repeats", type=int, default=3, help="repeats; the median is shown")
    parser.add_argument("--kernel", choices=KERNELS, default="matern", help="GP kernel")
    parser.add_argument("--noise", type=float, default=0.01, help="observation noise std")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (more threads are much slower on a loaded 2-core machine)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = MixtureSpace(DOMAINS)
    rng = np.random.default_rng(0)
    X = simplex.sample(args.n, space, rng, method="sobol")
    y = smooth_surface(X) + rng.normal(0.0, args.noise, args.n)

    times: dict[str, list[tuple[float, float]]] = {"fit": [], f"propose q={args.q}": []}
    for repeat in range(args.repeats):
        surrogate = GPSurrogate(space, seed=repeat, kernel=args.kernel)
        with _Timer(times["fit"]):
            surrogate.fit(X, y)
        with _Timer(times[f"propose q={args.q}"]):
            batch = acquisition.propose_batch(surrogate, args.q, seed=repeat)
        if not np.all(simplex.is_feasible(batch, space)):
            raise SystemExit("infeasible batch")

    print(
        f"GP ({args.kernel}), n={args.n}, d={space.dim}, q={args.q}, "
        f"median of {args.repeats}, {args.threads} torch thread(s)"
    )
    print(f"{'step':<16}{'wall s':>10}{'cpu s':>10}")
    total_wall = total_cpu = 0.0
    for name, pairs in times.items():
        wall = statistics.median(p[0] for p in pairs)
        cpu = statistics.median(p[1] for p in pairs)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"{name:<16}{wall:>10.2f}{cpu:>10.2f}")
    print(f"{'fit + propose':<16}{total_wall:>10.2f}{total_cpu:>10.2f}")


class _Timer:
    """Appends ``(wall seconds, process CPU seconds)`` of the `with` block to `sink`."""

    def __init__(self, sink: list[tuple[float, float]]) -> None:
        self.sink = sink

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.sink.append((time.perf_counter() - self.wall, time.process_time() - self.cpu))


if __name__ == "__main__":
    main()
