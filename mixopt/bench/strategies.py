"""Strategies: simulated studies on an oracle, scored by the true value of what they recommend.

A strategy runs a study of `trials` noisy evaluations in synchronous batches of `q` parallel
workers: every mixture of a batch is chosen before any of its results is seen (mixtures of
the batch that are already chosen are passed to the proposer as pending). Results of a batch
arrive one at a time, and after each the strategy recommends a mixture; the run records the
oracle's noise-free value there, for every trial count ``k = 1 .. trials``.

Specs (``make_strategy``): a name, optionally followed by ``:key=value`` options, e.g.
``gp-bo:kernel=quadratic+matern:init=8``.

    random      Dirichlet(1) proposals; recommends the best observed mixture.
    reference   MoDoMoDo: the 11-point seed design, then the quadratic surface's own
                proposals; recommends the surface's argmax once it can be fitted.
    gp-bo       a small initial design (centroid + 3 Sobol points), then qLogNEI batches on a
                GP; recommends the argmax of the posterior mean. Options: init, design, kernel.
    scheffe-bo  the same loop on the Bayesian Scheffé quadratic. Options: init, design.

While a surrogate cannot be fitted yet (fewer than its ``min_observations``) the best observed
mixture is recommended; a fit that raises `FitError` does the same for that trial count and is
counted in `StrategyRun.fit_failures`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from mixopt import designs, simplex
from mixopt.bench.oracles import DEFAULT_NOISE_SD, Oracle
from mixopt.errors import FitError, MixoptError
from mixopt.mixture import MixtureSpace

STRATEGY_NAMES = ("random", "reference", "gp-bo", "scheffe-bo")
# Initial design size of gp-bo/scheffe-bo. Measured (docs/bench, 5 domains, 50 studies, q=4):
# 4 points (centroid + 3 Sobol, one batch) beat d + 1 = 6: median regret/range 9.6% vs 14.0%
# after 8 trials, 3.9% vs 5.1% after 12, 2.0% vs 2.1% after 21.
DEFAULT_N_INIT = 4
INITIAL_DESIGNS = ("centroid+sobol", "sobol", "dirichlet", "reference_seed", "exclude_one",
                   "vertices+centroid")


@dataclass(frozen=True)
class StrategyRun:
    """One simulated study.

    Attributes:
        values: `N`-vector, the oracle's true value at the recommendation after ``k+1`` trials.
        recommended: `N x d` recommended mixtures.
        X: `N x d` mixtures evaluated, in order; y: their `N` noisy observations.
        fit_failures: surrogate fits or proposals that raised `FitError` (a fallback was used).
        wall_s: seconds the run took.
    """

    values: np.ndarray
    recommended: np.ndarray
    X: np.ndarray
    y: np.ndarray
    fit_failures: int
    wall_s: float


class Strategy(Protocol):
    """Runs a simulated study on an oracle. `label` names it in tables (the spec given)."""

    label: str

    def run(
        self, oracle: Oracle, trials: int, *, seed: int, noise_sd: float = DEFAULT_NOISE_SD,
        batch_size: int = 1,
    ) -> StrategyRun:
        """Simulate `trials` evaluations in batches of `batch_size`. Deterministic in `seed`."""
        ...


def noise_stream(seed: int) -> np.random.Generator:
    """The observation noise of seed `seed`: shared by all strategies (common random numbers)."""
    return np.random.default_rng([seed, 7919])


def initial_design(kind: str, space: MixtureSpace, n: int, *, seed: int) -> np.ndarray:
    """`n x d` initial mixtures of `kind` (one of `INITIAL_DESIGNS`; fixed designs ignore n).

    Raises:
        MixoptError: unknown kind.
    """
    if kind == "centroid+sobol":
        return designs.space_filling(space, n, seed=seed, method="sobol", include_centroid=True)
    if kind in ("sobol", "dirichlet"):
        return designs.space_filling(space, n, seed=seed, method=kind)
    if kind == "vertices+centroid":
        return np.vstack([designs.vertices(space), designs.centroid(space)])
    if kind in ("reference_seed", "exclude_one"):
        return designs.make(kind, space)
    raise MixoptError(f"unknown initial design {kind!r}; known: {', '.join(INITIAL_DESIGNS)}")


@dataclass
class _Study:
    """The growing record of one simulated study (mutable, private to a run)."""

    oracle: Oracle
    noise: np.random.Generator
    X: list[np.ndarray] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    recommended: list[np.ndarray] = field(default_factory=list)
    fit_failures: int = 0

    def best_observed(self) -> np.ndarray:
        return self.X[int(np.argmax(self.y))]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.vstack(self.X), np.asarray(self.y)

    def record(self, x: np.ndarray) -> None:
        self.recommended.append(np.asarray(x, dtype=float))
        self.values.append(float(self.oracle.value(x)[0]))

    def result(self, started: float) -> StrategyRun:
        X, y = self.arrays()
        return StrategyRun(
            values=np.asarray(self.values), recommended=np.vstack(self.recommended), X=X, y=y,
            fit_failures=self.fit_failures, wall_s=time.perf_counter() - started,
        )


def _check_run_args(trials: int, batch_size: int, noise_sd: float) -> None:
    if trials < 1:
        raise MixoptError(f"trials must be >= 1, got {trials}")
    if batch_size < 1:
        raise MixoptError(f"batch size must be >= 1, got {batch_size}")
    if not noise_sd >= 0:
        raise MixoptError(f"noise sd must be >= 0, got {noise_sd}")


@dataclass(frozen=True)
class RandomSearch:
    """Dirichlet(1) proposals; recommends the best observed mixture."""

    label: str = "random"

    def run(
        self, oracle: Oracle, trials: int, *, seed: int, noise_sd: float = DEFAULT_NOISE_SD,
        batch_size: int = 1,
    ) -> StrategyRun:
        _check_run_args(trials, batch_size, noise_sd)
        started = time.perf_counter()
        study = _Study(oracle, noise_stream(seed))
        X = simplex.sample(trials, oracle.space, np.random.default_rng([seed, 1]))
        y = oracle.observe(X, study.noise, noise_sd=noise_sd)  # batching cannot matter here
        for x, obs in zip(X, y, strict=True):
            study.X.append(x)
            study.y.append(float(obs))
            study.record(study.best_observed())
        return study.result(started)


# A proposer picks `k` new mixtures given the fitted surrogate, the pending mixtures, a seed
# and the mixtures observed so far.
Proposer = Callable[[Any, int, "np.ndarray | None", int, np.ndarray], np.ndarray]


def _propose_qlognei(
    surrogate: Any, k: int, X_pending: np.ndarray | None, seed: int, X_train: np.ndarray
) -> np.ndarray:
    from mixopt import acquisition  # torch/BoTorch only where needed

    return acquisition.propose_batch(surrogate, k, X_pending=X_pending, seed=seed)


def _propose_own(
    surrogate: Any, k: int, X_pending: np.ndarray | None, seed: int, X_train: np.ndarray
) -> np.ndarray:
    return surrogate.propose(k, X_pending=X_pending)


@dataclass(frozen=True)
class SurrogateLoop:
    """Initial design, then batches from `proposer` on a refitted surrogate.

    Attributes:
        label: name in tables.
        surrogate: registered surrogate name (``mixopt.surrogates.create``) and its options.
        proposer: ``(surrogate, k, X_pending, seed, X_observed) -> k x d``.
        design: initial design kind (`INITIAL_DESIGNS`) and its size `n_init` (``None``:
            `DEFAULT_N_INIT`).
    """

    label: str
    surrogate: str
    proposer: Proposer
    surrogate_options: Mapping[str, Any] = field(default_factory=dict)
    design: str = "centroid+sobol"
    n_init: int | None = None

    def _fit(self, study: _Study, seed: int) -> Any | None:
        """The surrogate fitted to the study so far, or None (too few points, or FitError)."""
        from mixopt import surrogates

        model = surrogates.create(self.surrogate, study.oracle.space, seed=seed,
                                  **self.surrogate_options)
        if len(study.y) < model.min_observations:
            return None
        try:
            model.fit(*study.arrays())
        except FitError:
            study.fit_failures += 1
            return None
        return model

    def _recommend(self, model: Any | None, study: _Study) -> np.ndarray:
        if model is None:
            return study.best_observed()
        try:
            rec = model.recommend()
        except FitError:
            study.fit_failures += 1
            return study.best_observed()
        return rec.mixture.to_vector(study.oracle.space.domains)

    def run(
        self, oracle: Oracle, trials: int, *, seed: int, noise_sd: float = DEFAULT_NOISE_SD,
        batch_size: int = 1,
    ) -> StrategyRun:
        _check_run_args(trials, batch_size, noise_sd)
        started = time.perf_counter()
        space = oracle.space
        study = _Study(oracle, noise_stream(seed))
        rng = np.random.default_rng([seed, 2])
        n_init = DEFAULT_N_INIT if self.n_init is None else self.n_init
        queue = list(initial_design(self.design, space, n_init, seed=seed))
        model: Any | None = None
        while len(study.y) < trials:
            q = min(batch_size, trials - len(study.y))
            batch, queue = queue[:q], queue[q:]
            if len(batch) < q:
                pending = np.vstack(batch) if batch else None
                batch += list(self._propose(model, study, q - len(batch), pending, rng, seed))
            B = np.vstack(batch)
            for x, obs in zip(B, oracle.observe(B, study.noise, noise_sd=noise_sd), strict=True):
                study.X.append(x)
                study.y.append(float(obs))
                model = self._fit(study, seed)
                study.record(self._recommend(model, study))
        return study.result(started)

    def _propose(
        self, model: Any | None, study: _Study, k: int, pending: np.ndarray | None,
        rng: np.random.Generator, seed: int,
    ) -> np.ndarray:
        proposed = np.empty((0, study.oracle.space.dim))
        if model is not None:
            try:
                proposed = self.proposer(model, k, pending, seed * 1009 + len(study.y),
                                         study.arrays()[0])
            except FitError:
                study.fit_failures += 1
        # No model yet, a failed one, or too few candidates: explore with random mixtures.
        missing = k - len(proposed)
        return np.vstack([proposed, simplex.sample(missing, study.oracle.space, rng)])


def _int_option(name: str, key: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise MixoptError(f"strategy {name!r}: option {key}={text!r} is not an integer") from None
    if value < 0:
        raise MixoptError(f"strategy {name!r}: option {key} must be >= 0, got {value}")
    return value


_OPTIONS = {
    "random": (),
    "reference": (),
    "gp-bo": ("init", "design", "kernel"),
    "scheffe-bo": ("init", "design"),
}


def make_strategy(spec: str) -> Strategy:
    """The strategy named by `spec` (``NAME[:key=value...]``); its label is `spec` itself.

    Raises:
        MixoptError: unknown name or option (what exists is listed), or a malformed value.
    """
    name, *parts = spec.strip().split(":")
    if name not in _OPTIONS:
        raise MixoptError(f"unknown strategy {name!r}; known: {', '.join(STRATEGY_NAMES)}")
    options: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or key not in _OPTIONS[name]:
            known = ", ".join(_OPTIONS[name]) or "none"
            raise MixoptError(f"strategy {name!r}: bad option {part!r}; options: {known}")
        options[key] = value
    if "design" in options and options["design"] not in INITIAL_DESIGNS:
        raise MixoptError(f"strategy {name!r}: unknown design {options['design']!r}; "
                          f"known: {', '.join(INITIAL_DESIGNS)}")
    if name == "random":
        return RandomSearch(label=spec)
    if name == "reference":
        return SurrogateLoop(label=spec, surrogate="quadsurface", proposer=_propose_own,
                             design="reference_seed")
    n_init = _int_option(name, "init", options["init"]) if "init" in options else None
    design = options.get("design", "centroid+sobol")
    if name == "gp-bo":
        from mixopt.surrogates.gp import KERNELS

        kernel = options.get("kernel", "matern")
        if kernel not in KERNELS:
            raise MixoptError(f"strategy {name!r}: unknown kernel {kernel!r}; "
                              f"known: {', '.join(KERNELS)}")
        return SurrogateLoop(label=spec, surrogate="gp", proposer=_propose_qlognei,
                             surrogate_options={"kernel": kernel}, design=design, n_init=n_init)
    return SurrogateLoop(label=spec, surrogate="scheffe", proposer=_propose_qlognei,
                         design=design, n_init=n_init)
