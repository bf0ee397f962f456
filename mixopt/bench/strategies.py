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

The model-based strategies are the search policy that studies run (`mixopt.policy`), asked and
told here with simulated outcomes: the same design, fits, proposals, recommendation rules and
fallbacks. While a surrogate cannot be fitted yet the best observed mixture is recommended; a
fit or proposal that raises `FitError` falls back likewise and is counted in
`StrategyRun.fit_failures`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from mixopt import simplex
from mixopt.bench.oracles import DEFAULT_NOISE_SD, Oracle
from mixopt.designs import DEFAULT_N_INIT, INITIAL_DESIGNS, initial_design
from mixopt.errors import MixoptError
from mixopt.policy import History, Observation, PolicySettings, SearchPolicy

STRATEGY_NAMES = ("random", "reference", "gp-bo", "scheffe-bo")
# Re-exported for scripts that imported them from here; they live in `mixopt.designs`.
__all__ = ["DEFAULT_N_INIT", "INITIAL_DESIGNS", "initial_design"]


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


@dataclass(frozen=True)
class SurrogateLoop:
    """The search policy (`mixopt.policy.SearchPolicy`) on simulated outcomes.

    Batches of `batch_size` are asked with the study so far as history (the design points of a
    batch are pending for its proposals); results arrive one at a time, and after each the
    policy's recommendation is scored.

    Attributes:
        label: name in tables.
        surrogate: registered surrogate name (``mixopt.surrogates.create``) and its options.
        design: initial design kind (`INITIAL_DESIGNS`) and its size `n_init` (``None``:
            `DEFAULT_N_INIT`).
    """

    label: str
    surrogate: str
    surrogate_options: Mapping[str, Any] = field(default_factory=dict)
    design: str = "centroid+sobol"
    n_init: int | None = None

    def settings(self, space: Any, *, seed: int, batch_size: int = 1) -> PolicySettings:
        """The policy settings of this strategy on `space`."""
        return PolicySettings(
            space=space, design=self.design,
            n_init=DEFAULT_N_INIT if self.n_init is None else self.n_init,
            surrogate=self.surrogate, surrogate_options=dict(self.surrogate_options),
            seed=seed, batch_size=batch_size)

    def run(
        self, oracle: Oracle, trials: int, *, seed: int, noise_sd: float = DEFAULT_NOISE_SD,
        batch_size: int = 1,
    ) -> StrategyRun:
        _check_run_args(trials, batch_size, noise_sd)
        started = time.perf_counter()
        study = _Study(oracle, noise_stream(seed))
        policy = SearchPolicy(self.settings(oracle.space, seed=seed, batch_size=batch_size))
        observations: list[Observation] = []
        while len(study.y) < trials:
            ask = policy.ask(History(tuple(observations)),
                             min(batch_size, trials - len(study.y)))
            study.fit_failures += int(ask.fit_failed)
            if not ask.proposals:
                raise MixoptError(f"strategy {self.label!r}: the policy proposed nothing")
            B = ask.X
            for x, obs in zip(B, oracle.observe(B, study.noise, noise_sd=noise_sd), strict=True):
                study.X.append(x)
                study.y.append(float(obs))
                observations.append(Observation(x, (float(obs),)))
                rec = policy.recommend(History(tuple(observations)))
                assert rec is not None  # at least one observation
                study.fit_failures += int(rec.fit_failed)
                study.record(rec.mixture.to_vector(oracle.space.domains))
        return study.result(started)


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
        return SurrogateLoop(label=spec, surrogate="quadsurface", design="reference_seed")
    n_init = _int_option(name, "init", options["init"]) if "init" in options else None
    design = options.get("design", "centroid+sobol")
    if name == "gp-bo":
        from mixopt.surrogates.options import KERNELS

        kernel = options.get("kernel", "matern")
        if kernel not in KERNELS:
            raise MixoptError(f"strategy {name!r}: unknown kernel {kernel!r}; "
                              f"known: {', '.join(KERNELS)}")
        return SurrogateLoop(label=spec, surrogate="gp", surrogate_options={"kernel": kernel},
                             design=design, n_init=n_init)
    return SurrogateLoop(label=spec, surrogate="scheffe", design=design, n_init=n_init)
