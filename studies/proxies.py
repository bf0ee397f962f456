"""Proxy fidelity: a study's cheaper stand-in trials (``search.proxies``), mixed with targets.

A proxy is the study's train job with overrides (a smaller model, fewer prompts or steps)
and a relative cost in (0, 1). Its trials are ledger runs like any other, tagged
``mixopt.fidelity`` (the proxy's name) and ``mixopt.cost``; target trials carry no such tag.
The search policy sees a proxy trial as an `Observation` at fidelity = its cost (as the
RegMix tables' proxies of `mixopt.bench.tables`), fits every trial with a
`MultiFidelityGP`, and proposes (mixture, fidelity) rows of a candidate pool by the
cost-weighted target EI; its recommendation is always a target row.

Budget: with proxies, ``search.max_trials`` is the study's budget in target-run equivalents:
new trials are launched while the cost of its trials (each at its fidelity's cost) leaves
room, and a round's proposals never cost more than what is left.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mixopt.pool import CandidatePool


def with_proxies(pool: CandidatePool, costs: Sequence[float],
                 affordable: float | None = None) -> CandidatePool:
    """`pool`'s target rows, plus the same mixtures at each proxy fidelity (its cost);
    with `affordable`, only the fidelities costing at most that (target rows included only
    if a target trial is affordable, so a round never overruns the budget)."""
    target = pool.X[pool.target_rows()]
    levels = [1.0, *(float(c) for c in costs)]
    if affordable is not None:
        levels = [c for c in levels if c <= affordable + 1e-9]
    X = np.vstack([target] * len(levels)) if levels else target[:0]
    s = np.repeat(np.array(levels, dtype=float), len(target))
    return CandidatePool(X, fidelity=s, cost=s)
