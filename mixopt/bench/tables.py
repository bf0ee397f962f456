"""Pool-based benchmarks on tables of real training runs (``--oracle table:PATH#COLUMN``).

The candidates are the table's rows (mixtures whose outcome a real run measured); a strategy
observes the row's COLUMN value (plus Gaussian noise of sd `noise_sd`, default 0) and
recommends a target-fidelity row; regret is ``(best - value of the recommended row) / (best -
worst)`` over the target rows, and the percentile is the fraction of target rows strictly
better than the recommendation. COLUMN is maximized (use a negated loss).

With a fidelity column the table holds several fidelities (rows of the same mixture at
different model sizes or budgets): rows whose fidelity equals the target value are the target
(fidelity 1); each other row's fidelity is its cost relative to the target's, or, without a
cost column, its numeric value divided by the target's. Costs are divided by the median cost
of the target rows (target-run equivalents; 1 per row without a cost column). A study spends a
budget `B` of target-run equivalents; ``regret_at_cost[c-1]`` is the regret of the
recommendation made with what was observed once the spent cost reached `c` (the last
recommendation whose cumulative cost is <= c).

Strategies (``NAME[:key=value...]``):
    random   target rows in a seeded random order; recommends the best observed.
    gp-bo    the search policy on target rows: design (options init, design) then qLogNEI
             over the pool on a GP (option kernel); recommends after every observation.
    mf-bo    the search policy on every row: the design at the cheapest fidelity, then the
             cost-weighted target EI on a `MultiFidelityGP` (option kernel, default ar1),
             rounds of at most `round` target-run equivalents (default 0.25); recommends
             after every round.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from mixopt.bench.strategies import noise_stream
from mixopt.designs import DEFAULT_N_INIT, INITIAL_DESIGNS
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.observations import WEIGHT_PREFIX
from mixopt.policy import History, Observation, PolicySettings, SearchPolicy
from mixopt.pool import CandidatePool
from mixopt.threads import torch_threads

SCHEMA = "mixopt.bench.table/1"
TABLE_PREFIX = "table:"
TABLE_STRATEGIES = ("random", "gp-bo", "mf-bo")
_OPTIONS = {"random": (), "gp-bo": ("init", "design", "kernel"),
            "mf-bo": ("init", "design", "kernel", "round")}
DEFAULT_ROUND_COST = 0.25
_MAX_ROUND_ROWS = 256


@dataclass(frozen=True, eq=False)
class TableOracle:
    """A table of measured runs as a pool with the truth.

    Attributes:
        name: the spec.
        space: the domains (the table's ``w.<domain>`` columns).
        X: `n x d` mixtures; value: `n` COLUMN values (maximized).
        fidelity: `n` fidelities in (0, 1] (1: target); cost: `n` target-run equivalents.
    """

    name: str
    space: MixtureSpace
    X: np.ndarray
    value: np.ndarray
    fidelity: np.ndarray
    cost: np.ndarray

    @property
    def target(self) -> np.ndarray:
        """Indices of the target rows."""
        return np.flatnonzero(self.fidelity >= 1.0)

    @property
    def best(self) -> float:
        return float(self.value[self.target].max())

    @property
    def worst(self) -> float:
        return float(self.value[self.target].min())

    def pool(self) -> CandidatePool:
        return CandidatePool(self.X, self.fidelity, self.cost)

    def regret(self, row: int) -> float:
        """Normalized regret of recommending target row `row`."""
        return (self.best - float(self.value[row])) / (self.best - self.worst)

    def percentile(self, row: int) -> float:
        """Fraction of target rows strictly better than row `row`."""
        return float(np.mean(self.value[self.target] > self.value[row]))


def _float(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise MixoptError(f"{where}: {text!r} is not a number") from None
    if not np.isfinite(value):
        raise MixoptError(f"{where}: {text!r} is not finite")
    return value


def load_table(spec: str, *, fidelity_column: str | None = None,
               target_fidelity: str | None = None, cost_column: str | None = None) \
        -> TableOracle:
    """The table named by ``table:PATH#COLUMN``.

    Raises:
        MixoptError: a malformed spec, an unreadable file, a missing column, a non-numeric
            value (row and column named), a fidelity setting without its partner, no target
            rows, a lower fidelity that costs at least the target, fewer than 2 target rows,
            or target rows that all have the same value.
    """
    body = spec[len(TABLE_PREFIX):] if spec.startswith(TABLE_PREFIX) else spec
    path_text, _, column = body.partition("#")
    if not path_text or not column:
        raise MixoptError(f"oracle {spec!r}: expected table:PATH#COLUMN")
    if (fidelity_column is None) != (target_fidelity is None):
        raise MixoptError("--fidelity-column and --target-fidelity go together")
    try:
        with open(Path(path_text), newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise MixoptError(f"oracle {spec!r}: file not found: {path_text}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MixoptError(f"oracle {spec!r}: cannot read {path_text} ({err})") from None
    if not rows:
        raise MixoptError(f"oracle {spec!r}: no rows in {path_text}")
    header = list(rows[0])
    weights = [h for h in header if h.startswith(WEIGHT_PREFIX)]
    missing = [c for c in (column, fidelity_column, cost_column) if c and c not in header]
    if missing or not weights:
        raise MixoptError(f"oracle {spec!r}: {path_text} has no column(s) "
                          f"{missing or ['w.<domain>']}; columns: {', '.join(header)}")
    space = MixtureSpace(tuple(w[len(WEIGHT_PREFIX):] for w in weights))
    where = f"{path_text} row {{}} column {{}}"
    X = np.array([[_float(r[w], where.format(i + 2, w)) for w in weights]
                  for i, r in enumerate(rows)])
    X = X / X.sum(axis=1, keepdims=True)
    value = np.array([_float(r[column], where.format(i + 2, column))
                      for i, r in enumerate(rows)])
    raw_cost = np.ones(len(rows)) if cost_column is None else np.array(
        [_float(r[cost_column], where.format(i + 2, cost_column)) for i, r in enumerate(rows)])
    if np.any(raw_cost <= 0):
        raise MixoptError(f"oracle {spec!r}: costs in {cost_column!r} must be > 0")
    if fidelity_column is None:
        target = np.ones(len(rows), dtype=bool)
    else:
        labels = [r[fidelity_column].strip() for r in rows]
        target = np.array([label == target_fidelity for label in labels])
        if not target.any():
            raise MixoptError(f"oracle {spec!r}: no row has {fidelity_column} == "
                              f"{target_fidelity!r}; values: {', '.join(sorted(set(labels)))}")
    cost = raw_cost / float(np.median(raw_cost[target]))
    fidelity = np.ones(len(rows))
    if not target.all():
        if cost_column is not None:
            fidelity[~target] = cost[~target]
        else:
            t = _float(str(target_fidelity), "--target-fidelity (no --cost-column)")
            fidelity[~target] = [_float(lab, f"{fidelity_column} (no --cost-column)") / t
                                 for lab, tg in zip(labels, target, strict=True) if not tg]
            cost = np.where(target, cost, fidelity)
        bad = np.flatnonzero(~target & ((fidelity >= 1.0) | (fidelity <= 0)))
        if len(bad):
            raise MixoptError(f"oracle {spec!r}: row {bad[0] + 2} is a lower fidelity but its "
                              f"relative cost/fidelity {fidelity[bad[0]]:g} is not in (0, 1)")
    oracle = TableOracle(spec, space, X, value, fidelity, cost)
    if len(oracle.target) < 2 or oracle.best == oracle.worst:
        raise MixoptError(f"oracle {spec!r}: needs at least 2 target rows of different values")
    return oracle


# --- strategies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRun:
    """One simulated study on a table.

    Attributes:
        rows: observed rows in order; spent: cumulative cost after each of them.
        recommended: `r` target rows recommended; rec_spent: the cumulative cost each one was
            made with.
        fit_failures: fits or proposals that raised `FitError`; wall_s: seconds.
    """

    rows: np.ndarray
    spent: np.ndarray
    recommended: np.ndarray
    rec_spent: np.ndarray
    fit_failures: int
    wall_s: float

    def at_cost(self, budget: int) -> np.ndarray:
        """`budget` recommended rows at spent cost c = 1 .. budget (-1: none made yet)."""
        out = np.full(budget, -1, dtype=int)
        for c in range(1, budget + 1):
            made = np.flatnonzero(self.rec_spent <= c + 1e-9)
            if len(made):
                out[c - 1] = self.recommended[made[-1]]
        return out


def _parse(spec: str) -> tuple[str, dict[str, str]]:
    name, *parts = spec.strip().split(":")
    if name not in _OPTIONS:
        raise MixoptError(f"unknown table strategy {name!r}; known: {', '.join(TABLE_STRATEGIES)}")
    options: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in _OPTIONS[name]:
            raise MixoptError(f"strategy {name!r}: bad option {part!r}; options: "
                              f"{', '.join(_OPTIONS[name]) or 'none'}")
        options[key] = value
    if "design" in options and options["design"] not in INITIAL_DESIGNS:
        raise MixoptError(f"strategy {name!r}: unknown design {options['design']!r}; known: "
                          f"{', '.join(INITIAL_DESIGNS)}")
    return name, options


def _settings(name: str, options: dict[str, str], space: MixtureSpace, seed: int) \
        -> PolicySettings:
    try:
        n_init = int(options.get("init", DEFAULT_N_INIT))
    except ValueError:
        raise MixoptError(f"strategy {name!r}: init={options['init']!r} is not an integer") \
            from None
    design = options.get("design", "centroid+sobol")
    if name == "gp-bo":
        return PolicySettings(space=space, design=design, n_init=n_init, surrogate="gp",
                              surrogate_options={"kernel": options.get("kernel", "matern")},
                              seed=seed)
    return PolicySettings(space=space, design=design, n_init=n_init, seed=seed,
                          multi_fidelity=options.get("kernel", "ar1"))


def check_table_strategy(spec: str, space: MixtureSpace) -> None:
    """Raise MixoptError for a bad strategy spec (before any study runs)."""
    name, options = _parse(spec)
    if name != "random":
        _settings(name, options, space, 0)
    if "round" in options:
        _round_cost(options)


def _round_cost(options: dict[str, str]) -> float:
    value = _float(options.get("round", str(DEFAULT_ROUND_COST)), "strategy mf-bo: round")
    if value <= 0:
        raise MixoptError(f"strategy mf-bo: round must be > 0, got {value}")
    return value


def run_table_strategy(spec: str, oracle: TableOracle, budget: float, *, seed: int,
                       noise_sd: float = 0.0) -> TableRun:
    """Simulate one study of strategy `spec` on `oracle` spending `budget` target-run
    equivalents. Deterministic in `seed` (the noise is shared by strategies of a seed)."""
    started = time.perf_counter()
    name, options = _parse(spec)
    noise = noise_stream(seed)
    rows: list[int] = []
    spent: list[float] = []
    recs: list[int] = []
    rec_spent: list[float] = []
    failures = 0
    total = 0.0

    def observe(i: int) -> float:
        nonlocal total
        rows.append(i)
        total += float(oracle.cost[i])
        spent.append(total)
        return float(oracle.value[i] + noise_sd * noise.standard_normal())

    if name == "random":
        order = np.random.default_rng([seed, 1]).permutation(oracle.target)
        best_row, best_y = -1, -np.inf
        for i in order:
            if total >= budget - 1e-9:
                break
            y = observe(int(i))
            if y > best_y:
                best_row, best_y = int(i), y
            recs.append(best_row)
            rec_spent.append(total)
        return TableRun(np.array(rows), np.array(spent), np.array(recs), np.array(rec_spent),
                        0, time.perf_counter() - started)
    policy = SearchPolicy(_settings(name, options, oracle.space, seed))
    pool = oracle.pool()
    target_X = oracle.X[oracle.target]
    multi = name == "mf-bo"
    round_cost = _round_cost(options) if multi else None
    observations: list[Observation] = []

    def recommend() -> None:
        nonlocal failures
        rec = policy.recommend(History(tuple(observations)), pool=pool)
        if rec is None:
            return
        failures += int(rec.fit_failed)
        x = rec.mixture.to_vector(oracle.space.domains)
        recs.append(int(oracle.target[np.argmin(np.linalg.norm(target_X - x, axis=1))]))
        rec_spent.append(total)

    while total < budget - 1e-9:
        left = budget - total
        ask = policy.ask(History(tuple(observations)), _MAX_ROUND_ROWS if multi else 1,
                         pool=pool, max_cost=min(round_cost, left) if multi else None)
        failures += int(ask.fit_failed)
        if not ask.proposals:
            break  # the pool is exhausted
        for p in ask.proposals:
            y = observe(int(p.row))
            observations.append(Observation(p.x, (y,), fidelity=p.fidelity,
                                            cost=float(oracle.cost[p.row])))
            if not multi:
                recommend()
        if multi:
            recommend()
    return TableRun(np.array(rows), np.array(spent), np.array(recs), np.array(rec_spent),
                    failures, time.perf_counter() - started)


# --- the benchmark ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSettings:
    """How to read the table (see `load_table`)."""

    fidelity_column: str | None = None
    target_fidelity: str | None = None
    cost_column: str | None = None

    def load(self, spec: str) -> TableOracle:
        return load_table(spec, fidelity_column=self.fidelity_column,
                          target_fidelity=self.target_fidelity, cost_column=self.cost_column)


@dataclass(frozen=True)
class _Task:
    spec: str
    table: TableSettings
    strategy: str
    seed: int
    budget: int
    noise_sd: float


def _run_task(task: _Task) -> dict[str, Any]:
    oracle = task.table.load(task.spec)
    with warnings.catch_warnings(), torch_threads(1):
        warnings.simplefilter("ignore")  # GP jitter warnings; failures are counted
        run = run_table_strategy(task.strategy, oracle, task.budget, seed=task.seed,
                                 noise_sd=task.noise_sd)
    at = run.at_cost(task.budget)
    return {
        "strategy": task.strategy, "seed": task.seed,
        "regret_at_cost": [None if r < 0 else oracle.regret(int(r)) for r in at],
        "percentile_at_cost": [None if r < 0 else oracle.percentile(int(r)) for r in at],
        "rows_at_cost": at.tolist(), "observed": len(run.rows),
        "target_runs": int(np.sum(oracle.fidelity[run.rows] >= 1.0)) if len(run.rows) else 0,
        "fit_failures": run.fit_failures, "wall_s": round(run.wall_s, 3),
    }


def _quartiles(table: list[list[float | None]]) -> dict[str, list[float | None]]:
    A = np.array([[np.nan if v is None else v for v in row] for row in table], dtype=float)
    out: dict[str, list[float | None]] = {}
    for label, q in (("q25", 25), ("median", 50), ("q75", 75)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an all-nan column: nothing recommended yet
            col = np.nanpercentile(A, q, axis=0)
        out[label] = [None if not np.isfinite(v) else float(v) for v in col]
    return out


def run_table_benchmark(spec: str, strategies: Sequence[str], budget: int, seeds: int, *,
                        table: TableSettings = TableSettings(), noise_sd: float = 0.0,
                        jobs: int = 1,
                        progress: Callable[[dict[str, Any], int, int], None] | None = None) \
        -> dict[str, Any]:
    """Every strategy on the table, seeds ``0 .. seeds-1``, `budget` target-run equivalents.

    Returns the JSON-ready result: ``results[strategy]`` with ``median_regret_at_cost``,
    ``q25_/q75_regret_at_cost``, ``median_percentile_at_cost`` (entry c-1: after cost c),
    plus the metadata and every run.

    Raises:
        MixoptError: a bad table, strategy, budget < 1, seeds < 1, jobs < 1, noise_sd < 0.
    """
    for label, value in (("budget", budget), ("seeds", seeds), ("jobs", jobs)):
        if value < 1:
            raise MixoptError(f"{label} must be >= 1, got {value}")
    if not noise_sd >= 0:
        raise MixoptError(f"noise sd must be >= 0, got {noise_sd}")
    oracle = table.load(spec)
    specs = tuple(dict.fromkeys(s.strip() for s in strategies if s.strip()))
    if not specs:
        raise MixoptError("name at least one strategy")
    for s in specs:
        check_table_strategy(s, oracle.space)
    tasks = [_Task(spec, table, s, seed, budget, noise_sd) for seed in range(seeds)
             for s in specs]
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []

    def finished(run: dict[str, Any]) -> None:
        runs.append(run)
        if progress is not None:
            progress(run, len(runs), len(tasks))

    if jobs == 1:
        for t in tasks:
            finished(_run_task(t))
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as ex:
            for future in as_completed([ex.submit(_run_task, t) for t in tasks]):
                finished(future.result())
    runs.sort(key=lambda r: (r["seed"], specs.index(r["strategy"])))
    results = {}
    for s in specs:
        mine = [r for r in runs if r["strategy"] == s]
        reg = _quartiles([r["regret_at_cost"] for r in mine])
        pct = _quartiles([r["percentile_at_cost"] for r in mine])
        results[s] = {
            "median_regret_at_cost": reg["median"], "q25_regret_at_cost": reg["q25"],
            "q75_regret_at_cost": reg["q75"], "median_percentile_at_cost": pct["median"],
            "n_runs": len(mine), "fit_failures": sum(r["fit_failures"] for r in mine),
            "wall_s": round(sum(r["wall_s"] for r in mine), 2),
        }
    return {
        "schema": SCHEMA,
        "metadata": {
            "oracle": spec, "fidelity_column": table.fidelity_column,
            "target_fidelity": table.target_fidelity, "cost_column": table.cost_column,
            "strategies": list(specs), "budget": budget, "seeds": seeds, "noise_sd": noise_sd,
            "pool_rows": len(oracle.X), "target_rows": len(oracle.target),
            "dim": oracle.space.dim, "jobs": jobs,
            "wall_s": round(time.perf_counter() - started, 2),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                       f"Python {platform.python_version()}",
        },
        "results": results,
        "runs": runs,
    }


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result)
