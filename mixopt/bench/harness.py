"""The benchmark harness: many simulated studies, summarized as regret against trial count.

For every oracle spec and every seed ``s = 0 .. seeds-1`` an oracle instance is drawn with
seed `s` and every strategy runs a study on it with seed `s` (the same observation noise for
all strategies: common random numbers). Regret after `k` trials is ``optimum - value`` at the
recommended mixture; normalized regret divides it by the oracle's range (optimum - minimum),
so that oracles on different scales can be pooled.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np

from mixopt.bench.oracles import BUILTIN_FAMILIES, DEFAULT_NOISE_SD, make_oracle
from mixopt.bench.strategies import make_strategy
from mixopt.errors import MixoptError
from mixopt.threads import torch_threads

SCHEMA = "mixopt.bench/1"
BUILTIN = "builtin"


@dataclass(frozen=True)
class RunRecord:
    """One strategy's study on one oracle instance.

    `values` is the `N`-vector of true values at the recommendations after ``1 .. N`` trials.
    """

    oracle: str
    seed: int
    strategy: str
    values: np.ndarray
    optimum: float
    minimum: float
    fit_failures: int
    wall_s: float

    @property
    def regret(self) -> np.ndarray:
        """`N`-vector ``optimum - values`` (in the oracle's units)."""
        return self.optimum - self.values

    @property
    def normalized_regret(self) -> np.ndarray:
        """`N`-vector regret / (optimum - minimum): 0 is the best mixture, 1 the worst."""
        return self.regret / (self.optimum - self.minimum)

    def to_dict(self) -> dict[str, Any]:
        return {
            "oracle": self.oracle, "seed": self.seed, "strategy": self.strategy,
            "optimum": self.optimum, "minimum": self.minimum, "values": self.values.tolist(),
            "fit_failures": self.fit_failures, "wall_s": round(self.wall_s, 3),
        }


def summarize(records: Sequence[RunRecord]) -> dict[str, Any]:
    """Median and quartiles over `records` at each trial count (lists indexed by ``k - 1``)."""
    regret = np.vstack([r.regret for r in records])
    normalized = np.vstack([r.normalized_regret for r in records])
    out: dict[str, Any] = {}
    for label, table in (("regret", regret), ("normalized_regret", normalized)):
        q25, median, q75 = np.percentile(table, [25, 50, 75], axis=0)
        out[f"median_{label}"] = median.tolist()
        out[f"q25_{label}"] = q25.tolist()
        out[f"q75_{label}"] = q75.tolist()
        out[f"mean_{label}"] = table.mean(axis=0).tolist()
    out["n_runs"] = len(records)
    out["fit_failures"] = int(sum(r.fit_failures for r in records))
    out["wall_s"] = round(float(sum(r.wall_s for r in records)), 3)
    return out


@dataclass(frozen=True)
class BenchResult:
    """All runs of a benchmark and how they were made."""

    runs: tuple[RunRecord, ...]
    oracles: tuple[str, ...]
    strategies: tuple[str, ...]
    trials: int
    seeds: int
    noise_sd: float
    batch_size: int
    dim: int
    jobs: int
    wall_s: float

    def records(self, strategy: str, oracle: str | None = None) -> list[RunRecord]:
        """Runs of `strategy`, on `oracle` or (None) pooled over all oracles."""
        return [r for r in self.runs
                if r.strategy == strategy and (oracle is None or r.oracle == oracle)]

    def summary(self, strategy: str, oracle: str | None = None) -> dict[str, Any]:
        """`summarize` of `strategy`'s runs (pooled over oracles when `oracle` is None)."""
        return summarize(self.records(strategy, oracle))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "metadata": {
                "oracles": list(self.oracles),
                "strategies": list(self.strategies),
                "trials": self.trials,
                "seeds": self.seeds,
                "noise_sd": self.noise_sd,
                "batch_size": self.batch_size,
                "dim": self.dim,
                "jobs": self.jobs,
                "wall_s": round(self.wall_s, 2),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                           f"Python {platform.python_version()}",
            },
            "results": {s: self.summary(s) for s in self.strategies},
            "per_oracle": {o: {s: self.summary(s, o) for s in self.strategies}
                           for o in self.oracles},
            "runs": [r.to_dict() for r in self.runs],
        }

    def to_json(self) -> str:
        """One JSON object: ``results[strategy]["median_regret"][k-1]`` etc., see `to_dict`."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> BenchResult:
        """Read back what `to_json` wrote (e.g. to plot a saved benchmark).

        Raises:
            MixoptError: not a benchmark of this schema.
        """
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise MixoptError(f"not a benchmark result of schema {SCHEMA!r}")
        meta = data["metadata"]
        runs = tuple(
            RunRecord(oracle=r["oracle"], seed=r["seed"], strategy=r["strategy"],
                      values=np.asarray(r["values"], dtype=float), optimum=r["optimum"],
                      minimum=r["minimum"], fit_failures=r["fit_failures"], wall_s=r["wall_s"])
            for r in data["runs"]
        )
        return cls(
            runs=runs, oracles=tuple(meta["oracles"]), strategies=tuple(meta["strategies"]),
            trials=meta["trials"], seeds=meta["seeds"], noise_sd=meta["noise_sd"],
            batch_size=meta["batch_size"], dim=meta["dim"], jobs=meta["jobs"],
            wall_s=meta["wall_s"],
        )


def expand_oracles(specs: Sequence[str]) -> tuple[str, ...]:
    """Replace ``builtin`` by every built-in family; drop repeats, keep order."""
    out: list[str] = []
    for spec in specs:
        for s in (BUILTIN_FAMILIES if spec == BUILTIN else (spec,)):
            if s not in out:
                out.append(s)
    return tuple(out)


@dataclass(frozen=True)
class _Task:
    oracle: str
    seed: int
    strategy: str
    trials: int
    noise_sd: float
    batch_size: int
    dim: int
    domains: tuple[str, ...] | None


def _run_task(task: _Task) -> RunRecord:
    oracle = make_oracle(task.oracle, seed=task.seed, dim=task.dim, domains=task.domains)
    with warnings.catch_warnings():
        # GPyTorch jitter and SciPy line-search warnings by the thousand say nothing about the
        # outcome, which the regret measures; FitErrors are counted in the record.
        warnings.simplefilter("ignore")
        run = make_strategy(task.strategy).run(
            oracle, task.trials, seed=task.seed, noise_sd=task.noise_sd,
            batch_size=task.batch_size,
        )
    return RunRecord(
        oracle=task.oracle, seed=task.seed, strategy=task.strategy, values=run.values,
        optimum=oracle.optimum, minimum=oracle.minimum, fit_failures=run.fit_failures,
        wall_s=run.wall_s,
    )


def _single_threaded_worker() -> None:
    # Tiny GP matrices gain nothing from threads, and J workers x T threads on shared cores
    # oversubscribe them (measured: a GP fit 0.2 s with 1 thread, 0.5-5 s with 2 under load).
    with contextlib.suppress(ImportError):
        import torch

        torch.set_num_threads(1)


ProgressFn = Callable[[RunRecord, int, int], None]


def run_benchmark(
    oracles: Sequence[str],
    strategies: Sequence[str],
    trials: int,
    seeds: int,
    *,
    noise_sd: float = DEFAULT_NOISE_SD,
    batch_size: int = 1,
    dim: int = 5,
    domains: Sequence[str] | None = None,
    jobs: int = 1,
    progress: ProgressFn | None = None,
) -> BenchResult:
    """Run every strategy on `seeds` instances of every oracle.

    Args:
        oracles: oracle specs (`make_oracle`), or ``builtin`` for every built-in family.
        strategies: strategy specs (`make_strategy`).
        trials: evaluations per study; seeds: instances per oracle (seeds ``0 .. seeds-1``).
        noise_sd: sd of the Gaussian observation noise; batch_size: parallel workers `q`.
        dim, domains: the space of built-in oracles (see `make_oracle`).
        jobs: worker processes (each with one torch thread); 1 runs in this process.
        progress: called as ``progress(record, done, total)`` after each study.

    Raises:
        MixoptError: no oracle or strategy, an unknown one, trials < 1, seeds < 1,
            batch_size < 1, jobs < 1, or noise_sd < 0.
    """
    if not oracles or not strategies:
        raise MixoptError("name at least one oracle and one strategy")
    for name, value in (("trials", trials), ("seeds", seeds), ("batch size", batch_size),
                        ("jobs", jobs)):
        if value < 1:
            raise MixoptError(f"{name} must be >= 1, got {value}")
    if not noise_sd >= 0:
        raise MixoptError(f"noise sd must be >= 0, got {noise_sd}")
    oracle_specs = expand_oracles(oracles)
    strategy_specs = tuple(dict.fromkeys(s.strip() for s in strategies))
    for spec in strategy_specs:
        make_strategy(spec)  # fail fast, before any study runs
    domains = tuple(domains) if domains else None
    first = None
    for spec in oracle_specs:
        first = first or make_oracle(spec, seed=0, dim=dim, domains=domains)
    tasks = [
        _Task(o, s, st, trials, noise_sd, batch_size, dim, domains)
        for o in oracle_specs for s in range(seeds) for st in strategy_specs
    ]
    started = time.perf_counter()
    done: list[RunRecord] = []

    def finished(record: RunRecord) -> None:
        done.append(record)
        if progress is not None:
            progress(record, len(done), len(tasks))

    if jobs == 1:
        with torch_threads(1):
            for task in tasks:
                finished(_run_task(task))
    else:
        # Spawned (not forked) workers: forking a process that has started torch's thread
        # pools is unsafe.
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                                 initializer=_single_threaded_worker) as pool:
            futures = [pool.submit(_run_task, t) for t in tasks]
            for future in as_completed(futures):
                finished(future.result())
    order = {(t.oracle, t.seed, t.strategy): i for i, t in enumerate(tasks)}
    runs = tuple(sorted(done, key=lambda r: order[(r.oracle, r.seed, r.strategy)]))
    return BenchResult(
        runs=runs, oracles=oracle_specs, strategies=strategy_specs, trials=trials, seeds=seeds,
        noise_sd=noise_sd, batch_size=batch_size, dim=first.space.dim if first else dim,
        jobs=jobs, wall_s=time.perf_counter() - started,
    )
