"""What a study with checkpoint fidelity tells its search policy, read back from the ledger.

Checkpoint observations: every checkpoint short of the full budget that a trial logged
(`studies.checkpoints`) is an `Observation` at that fraction. A trial retried after a failure
reports its checkpoints again under a new run: per trial and fraction the latest attempt's
value counts, so no (mixture, fraction) is observed twice. Completed trials keep their
full-budget observation as in any study; trials stopped early are `abandoned` mixtures (never
proposed again) whose checkpoints stay observations.

The multi-fidelity policy proposes from a candidate pool (`mixopt.pool`): here, the initial
design, every trial's mixture and `POOL_SIZE` Sobol points of the (bounded) simplex, all at
the target fidelity, so every proposal and the recommendation are full-budget target runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mixopt import simplex
from mixopt.mixture import MixtureSpace
from mixopt.policy import FULL_FIDELITY, Observation
from mixopt.pool import CandidatePool
from studies.checkpoints import FIDELITY_METRIC, Checkpoint, logged_checkpoints
from studies.config import StudyConfig
from studies.trials import TrialRecord

POOL_SIZE = 1024
_POOL_STREAM = 7919  # the pool's own random stream, apart from the design's and proposals'


def metric_names(config: StudyConfig) -> tuple[str, ...]:
    """The metrics the study's objective(s) are computed from."""
    names: list[str] = []
    for objective in config.objectives:
        names.extend([objective.metric] if objective.metric is not None
                     else list(objective.weights or {}))
    return tuple(dict.fromkeys(names))


def trial_checkpoints(client: Any, trials: Iterable[TrialRecord],
                      names: Sequence[str]) -> dict[int, list[Checkpoint]]:
    """Per trial index, its checkpoints short of the full budget, by fraction: for each
    fraction the one of the latest attempt that reported it. Only runs that logged any
    checkpoint (their ``checkpoint.fidelity`` metric) are read."""
    merged: dict[int, dict[int, tuple[int, Checkpoint]]] = {}
    for r in trials:
        if FIDELITY_METRIC not in r.metrics:
            continue
        for c in logged_checkpoints(client, r.run_id, names):
            if c.fraction >= FULL_FIDELITY:
                continue  # the full run is the trial's own result
            seen = merged.setdefault(r.index, {}).get(c.step)
            if seen is None or r.attempt > seen[0]:
                merged[r.index][c.step] = (r.attempt, c)
    return {i: [c for _, c in (by_step[s] for s in sorted(by_step))]
            for i, by_step in sorted(merged.items())}


def checkpoint_value(config: StudyConfig, checkpoint: Checkpoint) -> float | None:
    """The primary objective at a checkpoint, or None when it lacks a metric it needs."""
    try:
        return config.eval.objective.value(dict(checkpoint.metrics))
    except (KeyError, ValueError):
        return None


def checkpoint_observations(config: StudyConfig, weights: Mapping[int, np.ndarray],
                            checkpoints: Mapping[int, list[Checkpoint]]) -> list[Observation]:
    """`Observation`s of the checkpoints (fraction < 1) of the trials in `weights` (index ->
    `d` mixture vector), by index then fraction."""
    out = []
    for index, found in sorted(checkpoints.items()):
        if index not in weights:
            continue
        for c in found:
            value = checkpoint_value(config, c)
            if value is not None:
                out.append(Observation(weights[index], (value,), fidelity=c.fraction,
                                       cost=c.fraction))
    return out


def candidate_pool(space: MixtureSpace, design: np.ndarray, tried: np.ndarray,
                   seed: int) -> CandidatePool:
    """Target-fidelity rows: the initial design, the `tried` mixtures (`t x d`, recommendable
    and never proposed again) and `POOL_SIZE` Sobol points, seeded by the study's seed only
    (the same pool every round)."""
    rng = np.random.default_rng([seed, _POOL_STREAM])
    X = np.vstack([design, tried.reshape(-1, space.dim),
                   simplex.sample(POOL_SIZE, space, rng, method="sobol")])
    _, first = np.unique(np.round(X, 9), axis=0, return_index=True)
    return CandidatePool(X[np.sort(first)])
