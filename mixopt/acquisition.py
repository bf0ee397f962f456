"""Acquisition: which mixtures to train next, and what to recommend.

Single objective: greedy sequential batches of qLogNoisyExpectedImprovement on the bounded
simplex. Several objectives: qLogNoisyExpectedHypervolumeImprovement and Pareto fronts. Every
objective is maximized. Arrays are `n x d` with columns in ``space.domains`` order.

Surrogates passed here must provide ``to_botorch()`` (a fitted BoTorch model in the units of
`y`), ``space`` and ``X_train`` (the `n x d` mixtures they were fitted on), as `GPSurrogate`
does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.multi_objective.logei import (
    qLogNoisyExpectedHypervolumeImprovement,
)
from botorch.models import ModelList, ModelListGP
from botorch.optim import optimize_acqf
from botorch.optim.initializers import initialize_q_batch
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.multi_objective.pareto import is_non_dominated

from mixopt import simplex
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import Recommendation

# Quasi-MC samples of the posterior. Hypervolume improvement costs far more per sample.
MC_SAMPLES = 128
MC_SAMPLES_MULTIOBJECTIVE = 64
# Proposals closer than this (Euclidean) to a pending or already chosen mixture are replaced.
MIN_DISTANCE = 1e-3
_DTYPE = torch.float64
# Joint SLSQP over all restarts: measured faster than one restart at a time.
_SLSQP_OPTIONS = {"maxiter": 200}


def propose_batch(
    surrogate: Any,
    q: int,
    *,
    X_pending: np.ndarray | None = None,
    seed: int,
    num_restarts: int = 8,
    raw_samples: int = 256,
) -> np.ndarray:
    """`q x d` mixtures to train next: greedy sequential qLogNEI on the fitted `surrogate`.

    `X_pending` (`p x d`) are mixtures proposed but not yet observed; the batch avoids them and
    the observed mixtures (``surrogate.X_train``). Deterministic for a given `seed`.

    Raises:
        FitError: the surrogate is not fitted.
        MixoptError: `q < 1` or `X_pending` of the wrong width.
    """
    space: MixtureSpace = surrogate.space
    model = surrogate.to_botorch()
    X_baseline = torch.as_tensor(surrogate.X_train, dtype=_DTYPE)

    def make_acqf(pending: torch.Tensor | None) -> AcquisitionFunction:
        return qLogNoisyExpectedImprovement(
            model=model,
            X_baseline=X_baseline,
            sampler=SobolQMCNormalSampler(sample_shape=torch.Size([MC_SAMPLES]), seed=seed),
            X_pending=pending,
            prune_baseline=True,
        )

    return _greedy_batch(make_acqf, space, q, X_pending, seed, num_restarts, raw_samples,
                         X_observed=surrogate.X_train)


def propose_batch_multiobjective(
    surrogates: Sequence[Any],
    q: int,
    *,
    X_pending: np.ndarray | None = None,
    ref_point: np.ndarray | None = None,
    seed: int,
    num_restarts: int = 8,
    raw_samples: int = 256,
) -> np.ndarray:
    """`q x d` mixtures to train next for `m` objectives (all maximized), by qLogNEHVI.

    The surrogates share one space and one set of training mixtures. `ref_point` (`m`) is the
    hypervolume reference in the objectives' units; by default each objective's observed
    minimum minus 10% of its observed range.

    Raises:
        FitError: a surrogate is not fitted.
        MixoptError: fewer than 2 surrogates, differing spaces or training mixtures, a
            `ref_point` of the wrong length, `q < 1`.
    """
    if len(surrogates) < 2:
        raise MixoptError(f"multi-objective proposals need >= 2 surrogates, got {len(surrogates)}")
    space: MixtureSpace = surrogates[0].space
    X_train = surrogates[0].X_train
    for s in surrogates[1:]:
        if s.space != space:
            raise MixoptError("multi-objective surrogates must share one mixture space")
        if s.X_train.shape != X_train.shape or not np.allclose(s.X_train, X_train):
            raise MixoptError("multi-objective surrogates must be fitted on the same mixtures")
    models = [s.to_botorch() for s in surrogates]
    model = _model_list(models)
    X_baseline = torch.as_tensor(X_train, dtype=_DTYPE)
    if ref_point is None:
        with torch.no_grad():
            Y = model.posterior(X_baseline).mean  # smoothed observations, n x m
        lo, hi = Y.min(dim=0).values, Y.max(dim=0).values
        ref = lo - 0.1 * (hi - lo).clamp_min(1e-9)
    else:
        ref = torch.as_tensor(np.asarray(ref_point, dtype=float).reshape(-1), dtype=_DTYPE)
        if len(ref) != len(models):
            raise MixoptError(f"ref_point has {len(ref)} entries for {len(models)} objectives")

    def make_acqf(pending: torch.Tensor | None) -> AcquisitionFunction:
        return qLogNoisyExpectedHypervolumeImprovement(
            model=model,
            ref_point=ref,
            X_baseline=X_baseline,
            sampler=SobolQMCNormalSampler(
                sample_shape=torch.Size([MC_SAMPLES_MULTIOBJECTIVE]), seed=seed
            ),
            X_pending=pending,
            prune_baseline=True,
        )

    return _greedy_batch(make_acqf, space, q, X_pending, seed, num_restarts, raw_samples,
                         X_observed=X_train)


def recommend(surrogate: Any) -> Recommendation:
    """Pure exploitation: the surrogate's mixture of highest predicted mean."""
    return surrogate.recommend()


def pareto_front(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-dominated rows (every objective maximized) of `X: n x d` and `Y: n x m`.

    Returns ``(X_front: k x d, Y_front: k x m)``; duplicated objective vectors are kept once.

    Raises:
        MixoptError: `X` and `Y` with different numbers of rows.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    Y = np.asarray(Y, dtype=float)
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    if len(X) != len(Y):
        raise MixoptError(f"pareto_front: {len(X)} mixtures but {len(Y)} objective rows")
    if len(Y) == 0:
        return X.copy(), Y.copy()
    mask = is_non_dominated(torch.as_tensor(Y, dtype=_DTYPE), deduplicate=True).numpy()
    return X[mask].copy(), Y[mask].copy()


def predicted_pareto_front(
    surrogates: Sequence[Any], n_candidates: int = 2048, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pareto front of the surrogates' predicted means over `n_candidates` sampled mixtures.

    Returns ``(X: k x d, mean: k x m)``, the recommendation in multi-objective mode.

    Raises:
        FitError: a surrogate is not fitted.
        MixoptError: no surrogates.
    """
    if not surrogates:
        raise MixoptError("predicted_pareto_front needs at least one surrogate")
    space: MixtureSpace = surrogates[0].space
    C = simplex.sample(n_candidates, space, np.random.default_rng(seed), method="sobol")
    means = np.column_stack([s.predict(C).mean for s in surrogates])
    return pareto_front(C, means)


def _model_list(models: Sequence[Any]) -> ModelList:
    try:
        return ModelListGP(*models)
    except (TypeError, ValueError, AttributeError):  # non-GPyTorch models
        return ModelList(*models)


def _greedy_batch(
    make_acqf: Callable[[torch.Tensor | None], AcquisitionFunction],
    space: MixtureSpace,
    q: int,
    X_pending: np.ndarray | None,
    seed: int,
    num_restarts: int,
    raw_samples: int,
    X_observed: np.ndarray | None = None,
) -> np.ndarray:
    """Pick `q` points one at a time, each maximizing the acquisition given those before it.

    No point lies within MIN_DISTANCE of a pending, an observed (`X_observed: n x d`) or an
    already chosen mixture: a flat acquisition would otherwise retrain one.

    BoTorch's sequential mode refuses custom starting points, and its own hit-and-run sampler
    for equality constraints is slow (~2 s a call), so starts are drawn with `simplex.sample`
    and the top ones (Boltzmann-selected on the acquisition value) go to `optimize_acqf`.
    """
    if q < 1:
        raise MixoptError(f"batch size q must be >= 1, got {q}")
    if X_pending is not None:
        X_pending = np.atleast_2d(np.asarray(X_pending, dtype=float))
        if X_pending.shape[1] != space.dim:
            raise MixoptError(f"X_pending has {X_pending.shape[1]} columns for {space.dim} domains")
        if len(X_pending) == 0:
            X_pending = None
    rng = np.random.default_rng(seed)
    lower = torch.as_tensor(space.lower, dtype=_DTYPE)
    upper = torch.as_tensor(space.upper, dtype=_DTYPE)
    free = torch.nonzero(upper > lower).reshape(-1)
    pending = None if X_pending is None else torch.as_tensor(X_pending, dtype=_DTYPE)
    chosen: list[torch.Tensor] = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        acqf = make_acqf(pending)
        for _ in range(q):
            if chosen:
                new = torch.stack(chosen)
                acqf.set_X_pending(new if pending is None else torch.cat([pending, new]))
            starts = torch.as_tensor(
                simplex.sample(raw_samples, space, rng), dtype=_DTYPE
            ).unsqueeze(-2)
            if len(free) <= 1:  # the bounds leave a single mixture
                chosen.append(starts[0, 0])
                continue
            with torch.no_grad():
                values = acqf(starts)
            initial, _ = initialize_q_batch(starts, values, n=min(num_restarts, raw_samples))
            # Fixed coordinates stay out of the sum-to-one constraint: SLSQP dislikes them.
            rhs = 1.0 - float(lower[upper <= lower].sum())
            candidate, _ = optimize_acqf(
                acq_function=acqf,
                bounds=torch.stack([lower, upper]),
                q=1,
                num_restarts=len(initial),
                batch_initial_conditions=initial,
                equality_constraints=[(free, torch.ones(len(free), dtype=_DTYPE), rhs)],
                options=dict(_SLSQP_OPTIONS),
                # A retry would need BoTorch's slow initializer; SLSQP's "iteration limit" or
                # line-search notes still leave a usable point, which is projected below.
                retry_on_optimization_warning=False,
            )
            x = simplex.project(candidate.reshape(1, -1).detach().numpy(), space)[0]
            taken = [t.numpy() for t in chosen]
            if X_pending is not None:
                taken.extend(X_pending)
            if X_observed is not None:
                taken.extend(np.atleast_2d(X_observed))
            # A flat acquisition can return a mixture already in flight or observed; no worker
            # should train the same mixture twice, so take the best distinct start instead.
            if taken and _min_distance(x, np.vstack(taken)) <= MIN_DISTANCE:
                x = _best_distinct(starts[:, 0].numpy(), values.numpy(), np.vstack(taken), x)
            chosen.append(torch.as_tensor(x, dtype=_DTYPE))
    X = simplex.project(torch.stack(chosen).numpy(), space)
    if not np.all(simplex.is_feasible(X, space)):
        raise MixoptError("acquisition produced an infeasible mixture after projection")
    return X


def _min_distance(x: np.ndarray, X: np.ndarray) -> float:
    return float(np.linalg.norm(X - x, axis=1).min())


def _best_distinct(
    starts: np.ndarray, values: np.ndarray, taken: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """The highest-valued row of `starts` (`r x d`) farther than MIN_DISTANCE from `taken`."""
    for k in np.argsort(-values):
        if _min_distance(starts[k], taken) > MIN_DISTANCE:
            return starts[k]
    return fallback
