"""Learning-curve oracles: a score that depends on the mixture and on training progress.

A trial of a mixture ``x`` trained to a fraction ``t`` in (0, 1] of the full budget scores

    y(x, t) = start + (F(x) - start) * g(t, r(x)),   g(t, r) = (1 - e^{-r t}) / (1 - e^{-r}),

where ``F`` is the full-budget surface (a built-in oracle family of `mixopt.bench.oracles`, on
its realistic scale: minimum in [0.30, 0.45], range 0.05-0.20), ``start`` the base model's
score (the same for every mixture: ``min F - u * range F``, ``u`` drawn in [0.25, 1.0]) and
``r(x) > 0`` the mixture's learning rate: ``g(1) = 1`` so ``y(x, 1) = F(x)``; a large ``r``
learns fast and plateaus (``g(0.25) = 0.95`` at ``r = 12``), a small one is still climbing at
the end (``g(0.25) = 0.40`` at ``r = 1.5``).

The rate is ``r(x) = sqrt(18) * sqrt(8)^z(x)`` (1.5 to 12) with
``z = -tradeoff * Fn(x) + (1 - tradeoff) * Ln(x)`` in [-1, 1]: ``Fn`` is ``F`` rescaled to
[-1, 1] and ``Ln`` a random linear function of the weights (each domain its own speed)
rescaled to [-1, 1] over the vertices. A positive `tradeoff` makes the mixtures that end
highest learn slowest, so curves cross: a mixture ahead at a quarter of the budget can end
behind (what an early-stopping rule must not be fooled by). With the defaults (`tradeoff`
0.3), over 20 instances (5 families x 4 seeds, 200 random mixtures each) the Spearman
correlation of the scores at 0.25 with the final ones has median 0.50 (range -0.19 to
0.87), at 0.5 median 0.87 (0.60 to 0.97), and a median 32% of pairs of mixtures swap order
between 0.25 and 1.0.

Noise (`observe_run`): one run's curve gets a run offset shared by all its checkpoints (a
seed's run is good or bad throughout; variance ``run_share * noise_sd**2``) plus independent
noise per checkpoint (evaluation noise; the rest of the variance), so each checkpoint of a
run has sd `noise_sd`.

Cost: a run stopped at fraction ``t`` has spent ``t`` full-run equivalents of GPU steps
(checkpoint evaluations are not counted).

`OracleStopRule` is an early-stopping rule that knows the truth (benchmarks only): it stops
a trial iff its noise-free full-budget value is below the best completed trial's, the best
any rule could do with the same proposals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mixopt.bench.oracles import (
    BUILTIN_FAMILIES,
    DEFAULT_NOISE_SD,
    Oracle,
    builtin,
    default_domains,
)
from mixopt.early_stopping import FULL_BUDGET, StopDecision, TrialCurve
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace

LEARNING_CURVE_FAMILIES = BUILTIN_FAMILIES
DEFAULT_CHECKPOINTS = (0.25, 0.5, 1.0)
DEFAULT_TRADEOFF = 0.3
DEFAULT_RUN_SHARE = 0.5
# Rates span RATE_MID * exp(+-RATE_HALF_SPAN): 1.5 to 12.
RATE_MID = math.sqrt(18.0)
RATE_HALF_SPAN = math.log(math.sqrt(8.0))
_START_BELOW = (0.25, 1.0)  # start = min F - u * range F, u in this interval


def progress(t: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """``g(t, r) = (1 - exp(-r t)) / (1 - exp(-r))``: 0 at ``t = 0``, 1 at ``t = 1``,
    increasing and concave; elementwise over broadcastable `t` and `rate` (> 0)."""
    t = np.asarray(t, dtype=float)
    rate = np.asarray(rate, dtype=float)
    return -np.expm1(-rate * t) / -np.expm1(-rate)


@dataclass(frozen=True, eq=False)
class LinearShape:
    """``X @ coefs`` rescaled so that its extremes over the vertices are -1 and 1."""

    coefs: np.ndarray

    def __call__(self, X: np.ndarray) -> np.ndarray:
        c = self.coefs
        return 2.0 * (X @ c - c.min()) / (np.ptp(c) + 1e-12) - 1.0


@dataclass(frozen=True, eq=False)
class LearningRate:
    """``r(x) = RATE_MID * exp(RATE_HALF_SPAN * z(x))``, ``z = -tradeoff Fn + (1 - tradeoff) Ln``
    (see the module docstring); `m x d -> m`."""

    final: Oracle
    linear: LinearShape
    tradeoff: float

    def __call__(self, X: np.ndarray) -> np.ndarray:
        f = self.final
        fn = 2.0 * (f.value(X) - f.minimum) / f.value_range - 1.0
        z = -self.tradeoff * fn + (1.0 - self.tradeoff) * self.linear(X)
        return RATE_MID * np.exp(RATE_HALF_SPAN * np.clip(z, -1.0, 1.0))


@dataclass(frozen=True, eq=False)
class LearningCurveOracle:
    """A known score over (mixture, fraction of the budget); higher is better.

    Attributes:
        name: e.g. ``"curves:quadratic"``.
        final: the full-budget surface ``F`` with its extremes (regret is measured on it).
        start: the score at fraction 0 (the base model's), objective units.
        rate: ``r(x)``, `m x d -> m`.
        noise_sd: sd of one checkpoint's observation.
        run_share: share of the noise variance that is a per-run offset (0: all per checkpoint).
    """

    name: str
    final: Oracle
    start: float
    rate: LearningRate
    noise_sd: float = DEFAULT_NOISE_SD
    run_share: float = DEFAULT_RUN_SHARE

    @property
    def space(self) -> MixtureSpace:
        return self.final.space

    @property
    def optimum(self) -> float:
        """Best full-budget value over the simplex."""
        return self.final.optimum

    @property
    def value_range(self) -> float:
        """Range of the full-budget surface: the scale of normalized regret."""
        return self.final.value_range

    def value(self, X: np.ndarray, fraction: float | np.ndarray) -> np.ndarray:
        """Noise-free scores at `X: n x d` trained to `fraction` (a number or an `n`-vector in
        (0, 1]), an `n`-vector.

        Raises:
            MixoptError: a fraction outside (0, 1].
        """
        X = np.atleast_2d(np.asarray(X, dtype=float))
        t = np.broadcast_to(np.asarray(fraction, dtype=float), (len(X),))
        if np.any(~(t > 0) | (t > 1)):
            raise MixoptError(f"training fractions must lie in (0, 1], got {sorted(set(t))}")
        F = self.final.value(X)
        return self.start + (F - self.start) * progress(t, self.rate(X))

    def regret(self, x: np.ndarray) -> float:
        """``(optimum - F(x)) / range``: the normalized full-budget regret of mixture `x`."""
        return float((self.optimum - self.final.value(x)[0]) / self.value_range)

    def observe_run(
        self, x: np.ndarray, fractions: Sequence[float], rng: np.random.Generator
    ) -> np.ndarray:
        """One training run of mixture `x` (`d`) evaluated at `fractions` (`k`, increasing):
        the `k` noisy scores (a run offset shared by the checkpoints plus noise per
        checkpoint; total sd `noise_sd` at each)."""
        t = np.asarray(fractions, dtype=float)
        if len(t) and np.any(np.diff(t) <= 0):
            raise MixoptError(f"checkpoint fractions must increase, got {list(t)}")
        clean = self.value(np.repeat(np.atleast_2d(x), len(t), axis=0), t)
        offset = math.sqrt(self.run_share) * self.noise_sd * rng.standard_normal()
        own = math.sqrt(1.0 - self.run_share) * self.noise_sd * rng.standard_normal(len(t))
        return clean + offset + own


def make_learning_curves(
    family: str,
    *,
    seed: int,
    dim: int = 5,
    tradeoff: float = DEFAULT_TRADEOFF,
    noise_sd: float = DEFAULT_NOISE_SD,
    run_share: float = DEFAULT_RUN_SHARE,
) -> LearningCurveOracle:
    """A seeded learning-curve oracle whose full-budget surface is built-in `family`.

    Args:
        family: one of `LEARNING_CURVE_FAMILIES`.
        seed: the instance (the final surface is ``builtin(family, seed=seed)``).
        dim: number of domains (the reference's five names for 5).
        tradeoff: in [0, 1]: how strongly the best final mixtures learn slowest.
        noise_sd: sd of one checkpoint's score; run_share: its per-run share in [0, 1].

    Raises:
        MixoptError: unknown family, fewer than 2 domains, or a parameter out of range.
    """
    problems = []
    if not 0.0 <= tradeoff <= 1.0:
        problems.append(f"tradeoff must lie in [0, 1], got {tradeoff}")
    if not (math.isfinite(noise_sd) and noise_sd >= 0):
        problems.append(f"noise_sd must be a finite number >= 0, got {noise_sd}")
    if not 0.0 <= run_share <= 1.0:
        problems.append(f"run_share must lie in [0, 1], got {run_share}")
    if problems:
        raise MixoptError("learning curves: " + "; ".join(problems))
    if family not in LEARNING_CURVE_FAMILIES:
        raise MixoptError(f"unknown learning-curve family {family!r}; known: "
                          f"{', '.join(LEARNING_CURVE_FAMILIES)}")
    space = MixtureSpace(default_domains(dim))
    final = builtin(family, space, seed=seed)
    # Its own stream, so the final surface is exactly the built-in oracle of the same seed.
    rng = np.random.default_rng([seed, LEARNING_CURVE_FAMILIES.index(family), 7919])
    start = final.minimum - float(rng.uniform(*_START_BELOW)) * final.value_range
    rate = LearningRate(final, LinearShape(rng.normal(0.0, 1.0, space.dim)), tradeoff)
    return LearningCurveOracle(f"curves:{family}", final, start, rate, noise_sd, run_share)


@dataclass(frozen=True, eq=False)
class OracleStopRule:
    """An early-stopping rule that knows `curves` (an upper bound for real rules, benchmarks
    only): at a checkpoint before the full budget, stop the trial iff its noise-free
    full-budget value ``F(x)`` is below the incumbent's, the largest ``F`` of the completed
    trials; never stop before a trial completed, nor a trial at its full budget. Higher is
    better (the oracles' convention). The same `decide(trial, others)` as the real rules."""

    curves: LearningCurveOracle

    def decide(self, trial: TrialCurve, others: Sequence[TrialCurve]) -> StopDecision:
        done = [o.x for o in others if o.completed]
        if not done or trial.progression >= FULL_BUDGET:
            why = "no completed trial" if not done else "the trial is at its full budget"
            return StopDecision(False, "oracle", why)
        final = float(self.curves.final.value(trial.x[None, :])[0])
        incumbent = float(np.max(self.curves.final.value(np.vstack(done))))
        stop = final < incumbent
        return StopDecision(
            stop, "oracle",
            f"true full-budget value {final:.4f} {'<' if stop else '>='} the incumbent's "
            f"{incumbent:.4f}",
            {"final": final, "incumbent": incumbent})
