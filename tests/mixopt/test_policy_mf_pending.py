"""Multi-fidelity pool proposals account for pending points and for the rest of their batch.

A batch of the cost-weighted target EI is chosen one row at a time, each chosen row (and every
pending one, at its fidelity) believed at the model's posterior mean before the next is
scored (`MultiFidelityGP.believe`); no row within `SAME_MIXTURE` of a pending or chosen mixture
is proposed. A single-fidelity pool's qLogNEI gets the pending mixtures as `X_pending`.
"""

from __future__ import annotations

import numpy as np
import pytest

from mixopt import simplex
from mixopt.mixture import MixtureSpace
from mixopt.policy import SAME_MIXTURE, History, Observation, PolicySettings, SearchPolicy
from mixopt.pool import CandidatePool, pool_cost_weighted
from mixopt.surrogates.multi_fidelity import MultiFidelityGP

SPACE = MixtureSpace(("a", "b", "c"))
OPTIMUM = np.array([0.55, 0.3, 0.15])
PROXY, PROXY_COST = 0.1, 0.1
M = 30


def target(X: np.ndarray) -> np.ndarray:
    return 1.0 - 4.0 * ((X - OPTIMUM) ** 2).sum(axis=1)


def proxy(X: np.ndarray) -> np.ndarray:
    return target(X) - 1.0 + 0.05 * X[:, 0]


def mixtures() -> np.ndarray:
    return simplex.sample(M, SPACE, np.random.default_rng(0), method="sobol")


def pool() -> CandidatePool:
    """Every mixture at the proxy (cost 0.1) and at the target (cost 1), plus a second proxy
    row of every mixture 1e-4 away (a table with two runs of nearly one mixture)."""
    X = mixtures()
    twin = X + 1e-4 * np.array([1.0, -1.0, 0.0])
    rows = np.vstack([X, X, twin])
    s = np.r_[np.full(M, PROXY), np.ones(M), np.full(M, PROXY)]
    c = np.r_[np.full(M, PROXY_COST), np.ones(M), np.full(M, PROXY_COST)]
    return CandidatePool(rows, fidelity=s, cost=c)


def observed() -> tuple[Observation, ...]:
    """Proxies of 12 mixtures, targets of 3 of them (warm-start: the design is covered)."""
    X = mixtures()
    low = [Observation(x, (float(proxy(x[None])[0]),), fidelity=PROXY, cost=PROXY_COST,
                       warm_start=True) for x in X[:12]]
    high = [Observation(x, (float(target(x[None])[0]),), warm_start=True) for x in X[:3]]
    return tuple(low + high)


def policy(kernel: str = "ar1", seed: int = 0) -> SearchPolicy:
    return SearchPolicy(PolicySettings(space=SPACE, n_init=3, seed=seed, multi_fidelity=kernel))


def best_unobserved(kernel: str, k: int) -> np.ndarray:
    """The `k` unobserved mixtures whose proxy rows the acquisition ranks first without
    pending points (so that pending them is what the next batch must take into account)."""
    ask = policy(kernel).ask(History(observed()), k, pool=pool())
    return np.vstack([p.x for p in ask.proposals])


def assert_apart(X: np.ndarray, pending: np.ndarray) -> None:
    for i in range(len(X)):
        others = np.vstack([np.delete(X, i, axis=0), pending])
        assert np.linalg.norm(others - X[i], axis=1).min() >= SAME_MIXTURE, (i, X)


@pytest.mark.parametrize("kernel", ["ar1", "linear-truncated"])
def test_batch_with_target_pending_has_no_near_duplicate(kernel: str) -> None:
    pending = best_unobserved(kernel, 2)
    ask = policy(kernel).ask(History(observed(), pending=pending), 3, pool=pool())
    assert len(ask.proposals) == 3 and {p.kind for p in ask.proposals} == {"acquisition"}
    assert_apart(ask.X, pending)


def test_batch_with_proxy_pending_has_no_near_duplicate_and_is_seeded() -> None:
    pending = best_unobserved("ar1", 2)
    history = History(observed(), pending=pending, pending_fidelity=np.full(2, PROXY))
    ask = policy().ask(history, 3, pool=pool())
    assert len(ask.proposals) == 3
    assert_apart(ask.X, pending)
    again = policy().ask(history, 3, pool=pool())
    assert [p.row for p in again.proposals] == [p.row for p in ask.proposals]
    np.testing.assert_array_equal(again.X, ask.X)


@pytest.mark.parametrize("kernel", ["ar1", "linear-truncated"])
def test_a_pending_run_is_believed_as_a_row_of_the_batch_is(kernel: str) -> None:
    # Asking for 4 = taking the first, then asking for 3 with the first pending at its
    # fidelity: the pending run and the batch's own rows are conditioned on alike.
    batch = policy(kernel).ask(History(observed()), 4, pool=pool()).proposals
    first = batch[0]
    history = History(observed(), pending=first.x[None, :],
                      pending_fidelity=np.array([first.fidelity]))
    rest = policy(kernel).ask(history, 3, pool=pool()).proposals
    assert [p.row for p in rest] == [p.row for p in batch[1:]]


@pytest.mark.parametrize("kernel", ["ar1", "linear-truncated"])
def test_the_batch_is_not_the_order_of_independent_scores(kernel: str) -> None:
    # Without the believer a batch is the top rows of one scoring (minus near-duplicates):
    # here the proxies of mixtures 0.02 from the first choice, which tell about the same
    # part of the target as it does.
    base = pool()
    top = policy(kernel).ask(History(observed()), 1, pool=base).proposals[0]
    steps = np.array([[1, -1, 0], [-1, 1, 0], [1, 0, -1], [-1, 0, 1], [0, 1, -1], [0, -1, 1]])
    near = top.x + 0.02 * steps / np.sqrt(2)
    near = near[(near >= 0).all(axis=1)]
    p = CandidatePool(np.vstack([base.X, near]),
                      fidelity=np.r_[base.fidelities, np.full(len(near), PROXY)],
                      cost=np.r_[base.costs, np.full(len(near), PROXY_COST)])
    ask = policy(kernel).ask(History(observed()), 3, pool=p)
    fitted = ask.fitted
    seen = fitted.X
    best = float(np.max(fitted.model.predict(seen, 1.0).mean))
    observed_rows = [i for i in range(len(p)) if any(
        np.linalg.norm(p.X[i] - o.x) < SAME_MIXTURE and abs(p.fidelities[i] - o.fidelity) < 1e-9
        for o in observed())]
    score = pool_cost_weighted(fitted.model, p.X, p.fidelities, p.costs, best)
    score[observed_rows] = -np.inf
    naive: list[int] = []
    for i in np.argsort(-score, kind="stable"):
        if len(naive) < 3 and all(np.linalg.norm(p.X[i] - p.X[j]) >= SAME_MIXTURE
                                  for j in naive):
            naive.append(int(i))
    assert ask.proposals[0].row == naive[0]  # the first choice is the same
    assert [q.row for q in ask.proposals] != naive


def test_pending_fidelity_of_the_wrong_length_is_refused() -> None:
    from mixopt.errors import MixoptError

    history = History(observed(), pending=mixtures()[20:22], pending_fidelity=np.ones(3))
    with pytest.raises(MixoptError, match="2 pending mixtures but 3 pending fidelities"):
        policy().ask(history, 2, pool=pool())


@pytest.mark.parametrize("kernel", ["ar1", "linear-truncated", "product"])
def test_believe_keeps_the_mean_and_shrinks_the_variance_near_the_believed_point(
        kernel: str) -> None:
    obs = observed()
    X = np.vstack([o.x for o in obs])
    s = np.array([o.fidelity for o in obs])
    y = np.array([o.values[0] for o in obs])
    model = MultiFidelityGP(SPACE, seed=0, kernel=kernel)
    model.fit(X, s, y)
    new = mixtures()[20:22]
    far = mixtures()[25:26]
    before = model.predict(np.vstack([new, far]), 1.0)
    believed = model.believe(new, np.array([PROXY, 1.0]))
    after = believed.predict(np.vstack([new, far]), 1.0)
    np.testing.assert_allclose(after.mean, before.mean, atol=1e-6)
    assert after.latent_std[0] < before.latent_std[0]
    assert after.latent_std[1] < before.latent_std[1]
    if kernel != "ar1":  # one GP over (x, s): believing the target there pins it down
        assert after.latent_std[1] < 0.5 * before.latent_std[1]
    assert np.all(after.latent_std <= before.latent_std + 1e-9)
    # The fitted model itself is unchanged.
    np.testing.assert_allclose(model.predict(new, 1.0).latent_std, before.latent_std[:2])


def test_single_fidelity_pool_proposals_condition_on_pending_mixtures() -> None:
    # The GP's qLogNEI over a pool gets the pending mixtures as X_pending (as off the pool):
    # with the acquisition's favourite pending, its first choice is not a neighbour of it.
    X = mixtures()
    obs = tuple(Observation(x, (float(target(x[None])[0]),), warm_start=True) for x in X[:8])

    def single() -> SearchPolicy:
        return SearchPolicy(PolicySettings(space=SPACE, n_init=3, seed=0))

    top = single().ask(History(obs), 1, pool=CandidatePool(X)).proposals[0]
    steps = np.array([[1, -1, 0], [-1, 1, 0], [1, 0, -1], [-1, 0, 1], [0, 1, -1], [0, -1, 1]])
    near = top.x + 0.02 * steps / np.sqrt(2)
    near = near[(near >= 0).all(axis=1)]
    ask = single().ask(History(obs, pending=top.x[None, :]), 2,
                       pool=CandidatePool(np.vstack([X, near])))
    assert len(ask.proposals) == 2
    assert np.linalg.norm(ask.proposals[0].x - top.x) > 0.05
