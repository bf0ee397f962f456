"""Benchmarks: simulated studies on known response surfaces (oracles), scored by true regret.

``run_benchmark(oracles, strategies, trials, seeds)`` runs them; `make_oracle` and
`make_strategy` build one of each from its spec; `plot.save_regret_plot` draws the result.
"""

from mixopt.bench.harness import BenchResult, RunRecord, expand_oracles, run_benchmark
from mixopt.bench.oracles import BUILTIN_FAMILIES, DEFAULT_NOISE_SD, Oracle, make_oracle
from mixopt.bench.strategies import STRATEGY_NAMES, Strategy, StrategyRun, make_strategy

__all__ = [
    "BUILTIN_FAMILIES",
    "DEFAULT_NOISE_SD",
    "STRATEGY_NAMES",
    "BenchResult",
    "Oracle",
    "RunRecord",
    "Strategy",
    "StrategyRun",
    "expand_oracles",
    "make_oracle",
    "make_strategy",
    "run_benchmark",
]
