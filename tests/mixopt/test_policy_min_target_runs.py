"""`PolicySettings.min_target_runs`: a multi-fidelity policy runs target rows until that many
target runs are observed or pending (before any, the model can only take the proxy for the
target, and the cost-weighted EI would spend the whole budget on proxies)."""

from __future__ import annotations

import numpy as np
import pytest

from mixopt import simplex
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.policy import History, Observation, PolicySettings, SearchPolicy
from mixopt.pool import CandidatePool

SPACE = MixtureSpace(("a", "b", "c"))
PROXY = 0.1
M = 30


def _pool() -> CandidatePool:
    X = simplex.sample(M, SPACE, np.random.default_rng(0), method="sobol")
    s = np.r_[np.full(M, PROXY), np.ones(M)]
    return CandidatePool(np.vstack([X, X]), fidelity=s, cost=s)


def _proxies(n: int) -> tuple[Observation, ...]:
    X = _pool().X[:n]
    y = 0.5 - ((X - np.array([0.3, 0.4, 0.3])) ** 2).sum(axis=1)
    return tuple(Observation(x, (float(v),), fidelity=PROXY, cost=PROXY, warm_start=True)
                 for x, v in zip(X, y, strict=True))


def _policy(min_target_runs: int) -> SearchPolicy:
    return SearchPolicy(PolicySettings(space=SPACE, n_init=3, multi_fidelity="ar1",
                                       min_target_runs=min_target_runs))


def test_without_the_rule_only_proxies_are_proposed_before_any_target_run():
    ask = _policy(0).ask(History(_proxies(6)), 4, pool=_pool())
    assert [p.fidelity for p in ask.proposals] == [PROXY] * 4


def test_the_rule_proposes_target_rows_until_enough_target_runs():
    ask = _policy(2).ask(History(_proxies(6)), 4, pool=_pool())
    assert [p.fidelity for p in ask.proposals][:2] == [1.0, 1.0]
    assert all(p.kind == "acquisition" for p in ask.proposals)
    # one target run pending: one more target row, then the acquisition chooses freely
    pending = History(_proxies(6), pending=ask.proposals[0].x[None, :],
                      pending_fidelity=np.array([1.0]))
    again = _policy(2).ask(pending, 1, pool=_pool())
    assert [p.fidelity for p in again.proposals] == [1.0]
    # two target runs observed: the rule no longer applies (here it picks proxies again)
    done = _proxies(6) + tuple(Observation(p.x, (0.7,), warm_start=True)
                               for p in ask.proposals[:2])
    free = _policy(2).ask(History(done), 4, pool=_pool())
    assert free.proposals and PROXY in [p.fidelity for p in free.proposals]


def test_a_negative_min_target_runs_is_refused():
    with pytest.raises(MixoptError, match="min_target_runs must be >= 0"):
        _policy(-1)
