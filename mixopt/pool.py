"""Candidate pools: search over a finite set of (mixture, fidelity) rows instead of the simplex.

A pool is what a table of real training runs offers (each row's outcome was measured), or a
fixed menu of mixtures a study may pick from. Two acquisitions over a pool:

    pool_log_nei          qLogNEI on a single-fidelity GP, maximized over the pool's rows with
                          BoTorch's `optimize_acqf_discrete` (greedy sequential, unique rows).
    pool_cost_weighted    for a multi-fidelity GP: the expected improvement *at the target* of
                          each row's mixture, times the posterior correlation between the row's
                          fidelity and the target there, divided by the row's cost (Huang et
                          al.'s augmented EI, 2006). A target row scores its own EI; a proxy
                          row scores what it can reveal about the target per unit of cost.

Every row is a `d`-vector in ``space.domains`` order with a fidelity in (0, 1] (1: target) and
a cost in target-run equivalents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixopt.errors import MixoptError

TARGET = 1.0


@dataclass(frozen=True, eq=False)
class CandidatePool:
    """Rows a policy may propose and recommend.

    Attributes:
        X: `n x d` mixtures.
        fidelity: `n` fidelities in (0, 1]; None: every row is at the target fidelity.
        cost: `n` costs in target-run equivalents (> 0); None: 1 for every row.

    Raises:
        MixoptError: mismatched lengths, a fidelity outside (0, 1], a cost <= 0.
    """

    X: np.ndarray
    fidelity: np.ndarray | None = None
    cost: np.ndarray | None = None

    def __post_init__(self) -> None:
        X = np.atleast_2d(np.asarray(self.X, dtype=float))
        object.__setattr__(self, "X", X)
        n = len(X)
        for name in ("fidelity", "cost"):
            value = getattr(self, name)
            if value is None:
                continue
            value = np.asarray(value, dtype=float).reshape(-1)
            if len(value) != n:
                raise MixoptError(f"candidate pool: {n} mixtures but {len(value)} {name} values")
            object.__setattr__(self, name, value)
        if self.fidelity is not None and not np.all((self.fidelity > 0) & (self.fidelity <= 1)):
            raise MixoptError("candidate pool: fidelities must lie in (0, 1]")
        if self.cost is not None and not np.all(self.cost > 0):
            raise MixoptError("candidate pool: costs must be > 0")

    def __len__(self) -> int:
        return len(self.X)

    @property
    def fidelities(self) -> np.ndarray:
        """`n` fidelities (1 where none were given)."""
        return np.ones(len(self.X)) if self.fidelity is None else self.fidelity

    @property
    def costs(self) -> np.ndarray:
        """`n` costs (1 where none were given)."""
        return np.ones(len(self.X)) if self.cost is None else self.cost

    @property
    def multi_fidelity(self) -> bool:
        return bool(np.any(self.fidelities < TARGET))

    def target_rows(self) -> np.ndarray:
        """Indices of the target-fidelity rows (the recommendable ones)."""
        return np.flatnonzero(self.fidelities >= TARGET)


def pool_log_nei(model, X_baseline: np.ndarray, choices: np.ndarray, q: int, *,
                 X_pending: np.ndarray | None, seed: int) -> np.ndarray:
    """Indices (into `choices: c x d`) of a `q`-batch maximizing qLogNEI over the rows.

    `model` is a fitted single-objective BoTorch model on mixtures (units of `y`, maximized);
    `X_baseline: n x d` the observed mixtures.
    """
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.optim import optimize_acqf_discrete
    from botorch.sampling import SobolQMCNormalSampler

    from mixopt.acquisition import MC_SAMPLES

    q = min(q, len(choices))
    if q < 1:
        return np.empty(0, dtype=int)
    dtype = torch.float64
    acqf = qLogNoisyExpectedImprovement(
        model=model, X_baseline=torch.as_tensor(X_baseline, dtype=dtype),
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([MC_SAMPLES]), seed=seed),
        X_pending=None if X_pending is None or not len(X_pending)
        else torch.as_tensor(X_pending, dtype=dtype),
        prune_baseline=True,
    )
    C = torch.as_tensor(choices, dtype=dtype)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        chosen, _ = optimize_acqf_discrete(acqf, q=q, choices=C, unique=True)
    return np.array([_row_of(c, choices) for c in chosen.numpy()], dtype=int)


def _row_of(x: np.ndarray, choices: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(choices - x, axis=1)))


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """log E[max(f - best, 0)] for f ~ N(mean, std^2), elementwise, stable far below `best`."""
    from scipy import special  # ~1 s to import: not at `import mixopt.policy` (the CLI's start)

    std = np.maximum(np.asarray(std, dtype=float), 1e-12)
    z = (np.asarray(mean, dtype=float) - best) / std
    # h(z) = z Phi(z) + phi(z); for z << 0 use h(z) ~ phi(z) / z^2 (Mills ratio), in logs.
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log(np.maximum(z * special.ndtr(z) + np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi),
                                   1e-300))
        tail = -0.5 * z**2 - 0.5 * np.log(2 * np.pi) - 2.0 * np.log(np.abs(z) + 1e-300)
    return np.log(std) + np.where(z < -6.0, tail, direct)


def pool_cost_weighted(model, choices: np.ndarray, fidelity: np.ndarray, cost: np.ndarray,
                       best: float) -> np.ndarray:
    """`c` log-scores of rows (`choices: c x d` at `fidelity: c` costing `cost: c`): the
    log target-EI over `best` at each row's mixture + log |correlation with the target| -
    log cost. `model` is a fitted `MultiFidelityGP` (maximized)."""
    if not len(choices):
        return np.empty(0)
    at_target = model.predict(choices, TARGET)
    latent = at_target.latent_std if at_target.latent_std is not None else at_target.std
    log_ei = log_expected_improvement(at_target.mean, latent, best)
    corr = np.ones(len(choices))
    low = fidelity < TARGET
    if np.any(low):
        corr[low] = np.abs(model.correlation(choices[low], fidelity[low]))
    return log_ei + np.log(np.maximum(corr, 1e-12)) - np.log(cost)
