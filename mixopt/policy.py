"""The search policy: one ask/tell object, used by studies and by the benchmark alike.

A `SearchPolicy` is built from the search settings (`PolicySettings`: space, initial design,
surrogate and its options, objectives, seed, batch size, known noise, stopping rule) and holds
no results of its own: every answer is a function of the `History` it is given (observations
with their fidelity and cost, pending and abandoned mixtures) and the seed, so a study resumed
from its ledger and a simulated study given the same history get the same proposals.

    ask(history, n)      the next `n` mixtures (`Proposal`: the mixture and why: a design
                         point, the acquisition's choice, a space-filling point while no
                         surrogate can be fitted, or a replicate), and the stopping decision;
    recommend(history)   the mixture to train (`PolicyRecommendation`): the surrogate's argmax,
                         unless the surrogate fails its leave-one-out check or predicts less
                         than was observed, then the best observed mixture; which rule chose
                         it is recorded;
    fit(history)         the surrogate(s) fitted to the observations (`FittedPolicy`).

Values are in the objectives' own units; `PolicySettings.maximize` says which way each one is
better (the surrogates always see "higher is better"). Without `PolicySettings.multi_fidelity`
only full-fidelity observations (``fidelity == 1``) are fitted; with it, every observation is,
by a `MultiFidelityGP`. The recommendation is always for the target fidelity at full budget.
Mixtures are `d`-vectors in ``space.domains`` order.

Given a `CandidatePool` (``ask(..., pool=)``, ``recommend(..., pool=)``: e.g. the rows of a
table of real runs), proposals are rows of the pool (never a row already observed, pending or
abandoned), and the recommendation is one of its target-fidelity rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mixopt import simplex
from mixopt.designs import DEFAULT_N_INIT, INITIAL_DESIGNS, initial_design
from mixopt.errors import FitError, MixoptError
from mixopt.mixture import Mixture, MixtureSpace
from mixopt.pool import TARGET, CandidatePool, pool_cost_weighted, pool_log_nei
from mixopt.surrogates import options as surrogate_options
from mixopt.surrogates.diagnostics import Z90, LOODiagnostics, loo

# Two mixtures closer than this (Euclidean) are the same mixture: a proposal that close to an
# observed, pending or abandoned one is a replicate (`acquisition.MIN_DISTANCE` likewise).
SAME_MIXTURE = 1e-3
# The argmax of the surrogate is refused when its predicted mean is below the best observed
# value by more than this many noise sds (the best of n noisy values overstates its mean by
# about one to two sds, so a smaller margin would refuse good models).
BELOW_BEST_NOISE_SDS = 2.0
FULL_FIDELITY = 1.0



class TooFewObservations(FitError):
    """Fewer observations than the surrogate needs: not a failure, just too early."""


ProposalKind = Literal["design", "acquisition", "explore", "replicate"]
Rule = Literal["surrogate", "best-observed"]


@dataclass(frozen=True)
class Observation:
    """One measured result.

    Attributes:
        x: `d` mixture weights (``space.domains`` order).
        values: the objectives' values, as measured (one per `PolicySettings.maximize`).
        fidelity: fraction of the full training budget (1.0: a full run).
        cost: relative cost of the run (1.0: a full target run).
        warm_start: from an earlier study (fitted, but it does not take a design point).
    """

    x: np.ndarray
    values: tuple[float, ...]
    fidelity: float = FULL_FIDELITY
    cost: float = 1.0
    warm_start: bool = False


@dataclass(frozen=True)
class History:
    """What the policy is told: observations, plus mixtures without a result yet.

    Attributes:
        observations: the results so far, in order.
        pending: `p x d` mixtures launched (or being launched) without a result yet.
        abandoned: `a x d` mixtures that ended without a result and will not be retried.
        pending_fidelity: `p` fidelities of the pending runs (in (0, 1]); None: every one
            is a full run (a study's pending trials are). Only multi-fidelity proposals
            read it (they believe each pending run at its fidelity).
    """

    observations: tuple[Observation, ...] = ()
    pending: np.ndarray | None = None
    abandoned: np.ndarray | None = None
    pending_fidelity: np.ndarray | None = None

    def full_fidelity(self) -> tuple[Observation, ...]:
        return tuple(o for o in self.observations if o.fidelity >= FULL_FIDELITY)

    def pending_at(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """The `p x d` pending mixtures and their `p` fidelities.

        Raises:
            MixoptError: `pending_fidelity` of another length than `pending`, or a fidelity
                outside (0, 1].
        """
        X = _rows(self.pending, d)
        if self.pending_fidelity is None:
            return X, np.full(len(X), FULL_FIDELITY)
        s = np.asarray(self.pending_fidelity, dtype=float).reshape(-1)
        if len(s) != len(X):
            raise MixoptError(f"history: {len(X)} pending mixtures but {len(s)} pending "
                              "fidelities")
        if not np.all((s > 0) & (s <= FULL_FIDELITY)):
            raise MixoptError("history: pending fidelities must lie in (0, 1]")
        return X, s


@dataclass(frozen=True)
class Stopping:
    """Stop once the best expected improvement of a proposal round stays below `ei_below`
    (objective units) for `rounds` consecutive rounds."""

    ei_below: float
    rounds: int = 2


@dataclass(frozen=True)
class PolicySettings:
    """The search settings. Validated on construction.

    Attributes:
        space: the mixture space (domains and bounds).
        design: initial design kind (`INITIAL_DESIGNS`) and its size `n_init`.
        surrogate: registered surrogate name and its options (checked here).
        maximize: one flag per objective (at most two: two use qLogNEHVI).
        seed: seeds designs, fits and proposals.
        batch_size: proposals of `ask` when no `n` is given.
        noise_sd: known observation-noise sd (objective units), or None: inferred, and
            never below what replicates show.
        stopping: optional stopping rule.
        check_recommendation: fall back to the best observed mixture when the surrogate
            fails its checks (see `SearchPolicy.recommend`).
        multi_fidelity: None (fit full-fidelity observations only), or the kernel of a
            `MultiFidelityGP` fitted to every observation (``linear-truncated``,
            ``product``); proposals then need a candidate pool with fidelities and costs.
        min_target_runs: multi-fidelity only: while fewer target-fidelity runs than this
            are observed or pending, the acquisition proposes target rows only (before any
            target run the model can only assume the proxy *is* the target, correlation 1,
            and the cost-weighted EI then spends every budget on proxies). 0: no such rule.

    Raises:
        MixoptError: an unknown design or surrogate, a bad option, a bad size.
    """

    space: MixtureSpace
    design: str = "centroid+sobol"
    n_init: int = DEFAULT_N_INIT
    surrogate: str = "gp"
    surrogate_options: Mapping[str, Any] = field(default_factory=dict)
    maximize: tuple[bool, ...] = (True,)
    seed: int = 0
    batch_size: int = 1
    noise_sd: float | None = None
    stopping: Stopping | None = None
    check_recommendation: bool = True
    multi_fidelity: str | None = None
    min_target_runs: int = 0

    def __post_init__(self) -> None:
        problems = [f"surrogate {key}: {message}" for key, message in
                    surrogate_options.check(self.surrogate, self.surrogate_options)]
        if self.design not in INITIAL_DESIGNS:
            problems.append(f"unknown initial design {self.design!r}; known: "
                            f"{', '.join(INITIAL_DESIGNS)}")
        if self.min_target_runs < 0:
            problems.append(f"min_target_runs must be >= 0, got {self.min_target_runs}")
        if self.n_init < 1 or self.batch_size < 1:
            problems.append(f"need n_init >= 1 and batch_size >= 1, got {self.n_init}, "
                            f"{self.batch_size}")
        if len(self.maximize) not in (1, 2):
            problems.append(f"one or two objectives, got {len(self.maximize)}")
        elif len(self.maximize) == 2 and self.surrogate in surrogate_options.OPTIONS \
                and self.surrogate not in surrogate_options.BOTORCH_SURROGATES:
            problems.append(f"surrogate {self.surrogate!r} cannot propose for two objectives "
                            "(qLogNEHVI needs a BoTorch model: "
                            f"{', '.join(surrogate_options.BOTORCH_SURROGATES)})")
        if self.noise_sd is not None and not (math.isfinite(self.noise_sd) and self.noise_sd >= 0):
            problems.append(f"noise_sd must be a finite number >= 0, got {self.noise_sd}")
        if self.multi_fidelity is not None:
            from mixopt.surrogates.multi_fidelity import MF_KERNELS

            if self.multi_fidelity not in MF_KERNELS:
                problems.append(f"unknown multi-fidelity kernel {self.multi_fidelity!r}; "
                                f"known: {', '.join(MF_KERNELS)}")
            if len(self.maximize) != 1:
                problems.append("multi-fidelity search takes one objective")
        if problems:
            raise MixoptError("; ".join(problems))


@dataclass(frozen=True)
class Proposal:
    """A mixture to train, and why (`kind`, with a sentence in `reason`); with a pool, at
    `fidelity`, the pool's row `row`."""

    x: np.ndarray
    kind: ProposalKind
    reason: str
    fidelity: float = FULL_FIDELITY
    row: int | None = None


@dataclass(frozen=True)
class Ask:
    """The answer to `SearchPolicy.ask`.

    Attributes:
        proposals: at most the `n` asked for; fewer while results are awaited (no surrogate
            can be fitted yet but trials are pending) or when the stopping rule fires.
        stop: the stopping rule fired: propose nothing more.
        idle_rounds: consecutive idle rounds including this one (store it, pass it back).
        expected_improvement: the best expected improvement (primary objective, objective
            units) of this round's acquisition proposals; None when it made none.
        notes: sentences for a log (why the policy waits, explores, or stops).
        fitted: the surrogate of this round, if one was fitted.
        fit_failed: a fit or a proposal raised `FitError` (a fallback was used).
    """

    proposals: tuple[Proposal, ...]
    stop: bool = False
    idle_rounds: int = 0
    expected_improvement: float | None = None
    notes: tuple[str, ...] = ()
    fitted: FittedPolicy | None = None
    fit_failed: bool = False

    @property
    def X(self) -> np.ndarray:
        """`k x d` proposed mixtures (`k` may be 0)."""
        if not self.proposals:
            return np.empty((0, 0))
        return np.vstack([p.x for p in self.proposals])


@dataclass(frozen=True)
class PolicyRecommendation:
    """The mixture to train, its predicted objective and where a new training run would land.

    Attributes:
        mixture: the recommended mixture.
        mean: predicted objective there (objective units); for ``best-observed``, the mean
            of the values observed at that mixture.
        std: sd of the objective of a *new training run* of this mixture: the surrogate's
            uncertainty about the mean (`latent_std`) and the run-to-run noise (`noise_std`)
            together; nan when unknown.
        latent_std, noise_std: the two parts (None when the model does not split them).
        rule: ``surrogate`` (the surrogate's argmax) or ``best-observed``.
        reason: why that rule chose it (a sentence; empty for the surrogate's argmax).
        fit_failed: the surrogate could not be fitted (a `FitError`).
    """

    mixture: Mixture
    mean: float
    std: float
    latent_std: float | None = None
    noise_std: float | None = None
    rule: Rule = "surrogate"
    reason: str = ""
    fit_failed: bool = False

    def interval90(self) -> tuple[float, float] | None:
        """The 90% interval of a new training run's objective, or None without a std."""
        if not math.isfinite(self.std):
            return None
        return self.mean - Z90 * self.std, self.mean + Z90 * self.std


@dataclass(frozen=True)
class NoiseLevel:
    """What is known about the observation noise before fitting.

    Attributes:
        known_sd: the settings' known sd, or None.
        replicate_sd: pooled within-mixture sd of replicated observations, or None.
        replicate_dof: its degrees of freedom (observations minus distinct replicated mixtures).
    """

    known_sd: float | None
    replicate_sd: float | None
    replicate_dof: int

    @property
    def floor_var(self) -> float | None:
        """The least noise variance a fit may infer (units of the objective squared)."""
        sds = [s for s in (self.known_sd, self.replicate_sd) if s is not None]
        return max(sds) ** 2 if sds else None


def replicate_noise(X: np.ndarray, y: np.ndarray) -> tuple[float | None, int]:
    """Pooled within-mixture sd of `y: n` over rows of `X: n x d` within `SAME_MIXTURE` of each
    other, and its degrees of freedom; ``(None, 0)`` without a replicate."""
    groups = _groups(X)
    dof = sum(len(g) - 1 for g in groups)
    if dof == 0:
        return None, 0
    ss = sum(float(np.sum((y[g] - y[g].mean()) ** 2)) for g in groups)
    return math.sqrt(ss / dof), dof


def _groups(X: np.ndarray) -> list[np.ndarray]:
    """Row indices of `X` grouped by mixture (first appearance order)."""
    groups: list[list[int]] = []
    heads: list[np.ndarray] = []
    for i, x in enumerate(X):
        for g, head in zip(groups, heads, strict=True):
            if np.linalg.norm(head - x) < SAME_MIXTURE:
                g.append(i)
                break
        else:
            groups.append([i])
            heads.append(x)
    return [np.asarray(g) for g in groups]


def _near(x: np.ndarray, X: np.ndarray) -> bool:
    return len(X) > 0 and float(np.linalg.norm(X - x, axis=1).min()) < SAME_MIXTURE


@dataclass(frozen=True)
class FittedPolicy:
    """The surrogates fitted to a history's full-fidelity observations.

    Attributes:
        settings: the policy's settings.
        X: `n x d` observed mixtures; Y: `n x m` their values (objective units).
        noise: what was known about the noise before fitting.
        models: one fitted surrogate per objective; each sees ``sign * value`` (maximized).
        fidelity: `n` fidelities of the rows of `X` for a multi-fidelity fit, else None (all
            rows are full-fidelity).
    """

    settings: PolicySettings
    X: np.ndarray
    Y: np.ndarray
    noise: NoiseLevel
    models: tuple[Any, ...]
    fidelity: np.ndarray | None = None

    @property
    def model(self) -> Any:
        """The primary objective's surrogate."""
        return self.models[0]

    @property
    def signs(self) -> np.ndarray:
        return np.array([1.0 if m else -1.0 for m in self.settings.maximize])

    @property
    def y(self) -> np.ndarray:
        """`n` primary objective values (objective units)."""
        return self.Y[:, 0]

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Primary objective: mean (objective units) and sd of a new observation at `X: m x d`
        (at the target fidelity)."""
        pred = self._predict(np.atleast_2d(X))
        return self.signs[0] * pred.mean, pred.std

    def _predict(self, X: np.ndarray) -> Any:
        if self.fidelity is not None:
            return self.model.predict(X, TARGET)
        return self.model.predict(X)

    def target_y(self) -> np.ndarray:
        """Primary values (objective units) of the full-fidelity rows."""
        if self.fidelity is None:
            return self.y
        return self.y[self.fidelity >= FULL_FIDELITY]

    def noise_sd(self) -> float | None:
        """The noise sd the fit uses (known, or inferred and floored); None if it has none."""
        if self.noise.known_sd is not None:
            return self.noise.known_sd
        sd = getattr(self.model, "noise_sd", None)
        if sd is None:
            return self.noise.replicate_sd
        return max(float(sd), self.noise.replicate_sd or 0.0)

    def loo(self) -> LOODiagnostics | None:
        """Leave-one-out diagnostics of the primary objective (objective units), or None
        (fewer than 3 observations, or a refit that failed)."""
        if len(self.y) < 3 or self.fidelity is not None:  # no LOO for the multi-fidelity GP yet
            return None
        sign = self.signs[0]
        try:
            diag = loo(lambda: _new_surrogate(self.settings, self.noise, 0),
                       self.X, sign * self.y, fitted=self.model)
        except FitError:
            return None
        if sign > 0:
            return diag
        return LOODiagnostics(
            mean=-diag.mean, std=diag.std, rmse=diag.rmse, spearman=diag.spearman,
            coverage90=diag.coverage90, mean_baseline_rmse=diag.mean_baseline_rmse,
            worse_than_mean=diag.worse_than_mean,
        )

    def argmax(self, candidates: np.ndarray | None = None) -> PolicyRecommendation:
        """The primary surrogate's mixture of best predicted mean (over the simplex, or over
        the rows of `candidates: c x d`), with the std split."""
        if candidates is None:
            x = self.model.recommend().mixture.to_vector(self.settings.space.domains)
        else:
            x = candidates[int(np.argmax(self._predict(candidates).mean))]
        pred = self._predict(x[None, :])
        std = float(pred.std[0])
        latent = None if pred.latent_std is None else float(pred.latent_std[0])
        noise = None if latent is None else math.sqrt(max(std**2 - latent**2, 0.0))
        mixture = Mixture.from_vector(x, self.settings.space.domains, normalize=True)
        return PolicyRecommendation(mixture, float(self.signs[0] * pred.mean[0]), std,
                                    latent_std=latent, noise_std=noise)


def _new_surrogate(settings: PolicySettings, noise: NoiseLevel, objective: int) -> Any:
    """A fresh surrogate with the user's options and the noise the data allow."""
    from mixopt import surrogates

    opts = dict(settings.surrogate_options)
    accepted = surrogate_options.OPTIONS.get(settings.surrogate, {})
    # Only the primary objective's noise is known or replicated in its units.
    if objective == 0:
        if noise.known_sd is not None and "noise_var" in accepted:
            opts.setdefault("noise_var", noise.known_sd**2)
        floor = noise.floor_var
        if floor is not None and surrogate_options.NOISE_OPTION in accepted:
            opts[surrogate_options.NOISE_OPTION] = max(
                floor, opts.get(surrogate_options.NOISE_OPTION) or 0.0)
    try:
        return surrogates.create(settings.surrogate, settings.space, seed=settings.seed, **opts)
    except (TypeError, ValueError) as err:  # a registered surrogate refusing its options
        raise MixoptError(f"surrogate {settings.surrogate!r}: {err}") from None


class SearchPolicy:
    """Initial design -> fit -> batch proposals with pending points -> stop -> recommend.

    Stateless between calls apart from a one-entry cache of the last fit (same history, same
    fit), so it is safe to rebuild from the settings at any time.
    """

    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings
        self._design = initial_design(settings.design, settings.space, settings.n_init,
                                      seed=settings.seed)
        self._cache: tuple[bytes, FittedPolicy] | None = None

    @property
    def design(self) -> np.ndarray:
        """`n x d` initial design (in order)."""
        return self._design.copy()

    # -- fitting --------------------------------------------------------------------------

    def _arrays(self, history: History, *, all_fidelities: bool = False) \
            -> tuple[np.ndarray, np.ndarray]:
        obs = history.observations if all_fidelities else history.full_fidelity()
        d, m = self.settings.space.dim, len(self.settings.maximize)
        if not obs:
            return np.empty((0, d)), np.empty((0, m))
        X = np.vstack([np.asarray(o.x, dtype=float) for o in obs])
        bad = [i for i, o in enumerate(obs) if len(o.values) != m]
        if bad:
            raise MixoptError(f"observation {bad[0]} has {len(obs[bad[0]].values)} value(s) "
                              f"for {m} objective(s)")
        return X, np.array([o.values for o in obs], dtype=float).reshape(len(obs), m)

    def fit(self, history: History) -> FittedPolicy:
        """The surrogates fitted to the full-fidelity observations of `history`.

        Raises:
            FitError: fewer observations than the surrogate needs, or a fit that failed.
        """
        if self.settings.multi_fidelity is not None:
            return self._fit_multi_fidelity(history)
        X, Y = self._arrays(history)
        key = X.tobytes() + Y.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        rep_sd, dof = replicate_noise(X, Y[:, 0]) if len(X) else (None, 0)
        noise = NoiseLevel(self.settings.noise_sd, rep_sd, dof)
        signs = np.array([1.0 if m else -1.0 for m in self.settings.maximize])
        models = []
        for j in range(Y.shape[1]):
            model = _new_surrogate(self.settings, noise, j)
            if len(X) < model.min_observations:
                raise TooFewObservations(
                    f"{len(X)} observation(s); surrogate {self.settings.surrogate!r} needs at "
                    f"least {model.min_observations}")
            model.fit(X, signs[j] * Y[:, j])
            models.append(model)
        fitted = FittedPolicy(self.settings, X, Y, noise, tuple(models))
        self._cache = (key, fitted)
        return fitted

    def _fit_multi_fidelity(self, history: History) -> FittedPolicy:
        """A `MultiFidelityGP` on every observation (its fidelity an input)."""
        from mixopt.surrogates.multi_fidelity import MultiFidelityGP

        X, Y = self._arrays(history, all_fidelities=True)
        s = np.array([o.fidelity for o in history.observations], dtype=float)
        key = X.tobytes() + Y.tobytes() + s.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        full = s >= FULL_FIDELITY
        rep_sd, dof = replicate_noise(X[full], Y[full, 0]) if full.any() else (None, 0)
        noise = NoiseLevel(self.settings.noise_sd, rep_sd, dof)
        model = MultiFidelityGP(
            self.settings.space, self.settings.seed, kernel=self.settings.multi_fidelity,
            noise_var=None if noise.known_sd is None else noise.known_sd**2,
            noise_floor_var=noise.floor_var)
        if len(X) < model.min_observations:
            raise TooFewObservations(f"{len(X)} observation(s); the multi-fidelity GP needs at "
                                     f"least {model.min_observations}")
        sign = 1.0 if self.settings.maximize[0] else -1.0
        model.fit(X, s, sign * Y[:, 0])
        fitted = FittedPolicy(self.settings, X, Y, noise, (model,), fidelity=s)
        self._cache = (key, fitted)
        return fitted

    # -- asking ---------------------------------------------------------------------------

    def ask(self, history: History, n: int | None = None, *, idle_rounds: int = 0,
            pool: CandidatePool | None = None, max_cost: float | None = None) -> Ask:
        """The next (at most) `n` mixtures (default: the batch size), given `history`.

        The rest of the initial design first (skipped when earlier studies' observations
        outnumber it), then the acquisition's batch on the refitted surrogate with the
        pending mixtures (and the design points of this batch) as pending. While no surrogate
        can be fitted: wait when something is pending, else space-filling points. No proposal
        repeats an observed, pending or abandoned mixture unless it is a `replicate`.
        Deterministic in `history`, `idle_rounds` and the seed.

        With a `pool`, proposals are its rows (see `_ask_pool`), at most `n` of them and,
        when `max_cost` is given, no more than that cost in all (at least one row).

        Raises:
            MixoptError: `n < 1`, observations with the wrong number of values, or a
                multi-fidelity policy asked without a pool.
        """
        n = self.settings.batch_size if n is None else n
        if n < 1:
            raise MixoptError(f"ask for n >= 1 mixtures, got {n}")
        if pool is not None:
            return self._ask_pool(history, n, pool, idle_rounds, max_cost)
        if self.settings.multi_fidelity is not None:
            raise MixoptError("multi-fidelity proposals need a candidate pool (pool=) for now")
        d = self.settings.space.dim
        X_obs = np.vstack([np.asarray(o.x, dtype=float) for o in history.observations]) \
            if history.observations else np.empty((0, d))
        pending = _rows(history.pending, d)
        taken = np.vstack([X_obs, pending, _rows(history.abandoned, d)])
        out = self._design_points(history, taken, n)
        if len(out) == n:
            return Ask(tuple(out), idle_rounds=idle_rounds)
        k = n - len(out)
        try:
            fitted = self.fit(history)
        except FitError as err:
            if len(pending) or out:
                return Ask(tuple(out), idle_rounds=idle_rounds,
                           notes=(f"waiting for results before proposing ({err})",))
            note = f"cannot fit the surrogate yet ({err}); adding space-filling points"
            return Ask(tuple(out + self._explore(k, taken, out)), idle_rounds=idle_rounds,
                       notes=(note,), fit_failed=not isinstance(err, TooFewObservations))
        in_flight = np.vstack([pending, *(p.x[None, :] for p in out)])
        seed = self.settings.seed * 1009 + len(fitted.y)
        notes: list[str] = []
        fit_failed = False
        try:
            X = self._propose(fitted, k, in_flight, seed)
        except FitError as err:
            notes.append(f"the acquisition failed ({err}); adding space-filling points")
            X, fit_failed = np.empty((0, d)), True
        proposals = self._distinct(X, taken, out)
        missing = k - len(proposals)
        if missing > 0:
            proposals += self._explore(missing, taken, out + proposals)
        ei, idle = None, idle_rounds
        rule = self.settings.stopping
        acquired = [p for p in proposals if p.kind == "acquisition"]
        if acquired:  # reported (and logged by studies) with or without a stopping rule
            ei = self._expected_improvement(fitted, np.vstack([p.x for p in acquired]))
        if rule is not None and ei is not None:
            idle = idle_rounds + 1 if ei < rule.ei_below else 0
            if idle >= rule.rounds:
                notes.append(f"stopping rule: expected improvement stayed below "
                             f"{rule.ei_below:g} for {rule.rounds} rounds")
                return Ask(tuple(out), stop=True, idle_rounds=idle, expected_improvement=ei,
                           notes=tuple(notes), fitted=fitted, fit_failed=fit_failed)
        return Ask(tuple(out + proposals), idle_rounds=idle, expected_improvement=ei,
                   notes=tuple(notes), fitted=fitted, fit_failed=fit_failed)

    # -- asking from a pool ---------------------------------------------------------------

    def _ask_pool(self, history: History, n: int, pool: CandidatePool, idle_rounds: int,
                  max_cost: float | None) -> Ask:
        """Rows of `pool`: the initial design snapped to distinct rows first, then the
        acquisition's rows (qLogNEI over the target rows; with `multi_fidelity`, the
        cost-weighted target EI over every row, one row at a time with the pending runs and
        the rows already chosen believed: `_believed_rows`), then seeded random rows while
        no surrogate can be fitted. A row observed at its fidelity is never proposed, nor a
        row within `SAME_MIXTURE` of a pending mixture (at any fidelity: its result is
        awaited), of a row chosen in this batch, or of an abandoned mixture (target rows).
        No replicate is made: when no row is free, fewer rows are proposed.
        """
        if pool.X.shape[1] != self.settings.space.dim:
            raise MixoptError(f"candidate pool has {pool.X.shape[1]} columns for "
                              f"{self.settings.space.dim} domains")
        multi = self.settings.multi_fidelity is not None
        free = self._free_rows(history, pool)
        if not multi:  # a single-fidelity policy proposes target rows only
            free &= pool.fidelities >= FULL_FIDELITY
        budget = math.inf if max_cost is None else max_cost
        out: list[Proposal] = []

        def room(i: int) -> bool:
            spent = sum(pool.costs[p.row] for p in out)
            return len(out) < n and (not out or spent + pool.costs[i] <= budget + 1e-9)

        def take(i: int, kind: ProposalKind, reason: str) -> None:
            out.append(Proposal(pool.X[i].copy(), kind, reason, float(pool.fidelities[i]), i))
            # The batch's rows are pending once launched: the same rule as for pending.
            free[np.linalg.norm(pool.X - pool.X[i], axis=1) < SAME_MIXTURE] = False
            free[i] = False

        design_rows = self._design_rows(pool, multi)
        if sum(o.warm_start for o in history.observations) < len(design_rows):
            for j, i in enumerate(design_rows):
                if free[i] and room(i):
                    take(i, "design", f"initial design {self.settings.design}, point "
                         f"{j + 1} of {len(design_rows)} (nearest pool row)")
        if not free.any() or not room(int(np.flatnonzero(free)[0])):
            return Ask(tuple(out), idle_rounds=idle_rounds)
        try:
            fitted = self.fit(history)
        except FitError as err:
            pending = _rows(history.pending, self.settings.space.dim)
            if len(pending) or out:
                return Ask(tuple(out), idle_rounds=idle_rounds,
                           notes=(f"waiting for results before proposing ({err})",))
            rng = np.random.default_rng([self.settings.seed, 31, len(history.observations)])
            for i in rng.permutation(np.flatnonzero(free)):
                if room(int(i)):
                    take(int(i), "explore", "random pool row while the surrogate cannot be "
                         "fitted")
            return Ask(tuple(out), idle_rounds=idle_rounds, fit_failed=not isinstance(
                err, TooFewObservations), notes=(f"cannot fit the surrogate yet ({err})",))
        seed = self.settings.seed * 1009 + len(fitted.y)
        try:
            if multi:
                self._believed_rows(fitted, pool, history, free, out, room, take)
                return Ask(tuple(out), idle_rounds=idle_rounds, fitted=fitted)
            order = self._pool_order(fitted, pool, free, out, n, seed,
                                     history.pending_at(self.settings.space.dim)[0])
        except FitError as err:
            return Ask(tuple(out), idle_rounds=idle_rounds, fitted=fitted, fit_failed=True,
                       notes=(f"the acquisition failed ({err})",))
        for i in order:
            if free[i] and room(int(i)):
                take(int(i), "acquisition",
                     f"qLogNEI over the pool on {self.settings.surrogate}")
        acquired = [p.x for p in out if p.kind == "acquisition"]
        ei = self._expected_improvement(fitted, np.vstack(acquired)) if acquired else None
        return Ask(tuple(out), idle_rounds=idle_rounds, expected_improvement=ei, fitted=fitted)

    def _believed_rows(self, fitted: FittedPolicy, pool: CandidatePool, history: History,
                       free: np.ndarray, out: list[Proposal], room: Any, take: Any) -> None:
        """Take rows of the cost-weighted target EI (`pool_cost_weighted`) one at a time, the
        best free row that `room` admits, until none is admitted; before each choice the
        model believes the pending runs (at their fidelity) and the rows already in `out`.

        Why the kriging believer (`MultiFidelityGP.believe`: each such run observed at the
        model's posterior mean, hyperparameters kept) and not BoTorch's `X_pending`: the
        default ``ar1`` model is a chain of GPs with no single BoTorch model, and this
        acquisition is an analytic EI times a correlation over a cost, not a Monte-Carlo
        acquisition that could integrate over fantasies. The believer leaves the means as
        they are and shrinks the variances near what is in flight, so the next row's EI and
        its proxy's correlation fall there and the batch spreads out; it is deterministic
        (no fantasy samples), the same for every kernel, and costs a conditioning, not a
        refit, per chosen row (a round of 15 proxies stays one fit). The incumbent is the
        best predicted target mean over the observed and the believed mixtures.
        """
        d = self.settings.space.dim
        P, s_P = history.pending_at(d)
        model = fitted.model
        seen = fitted.X
        label = f"cost-weighted target EI over the pool on mf-gp ({self.settings.multi_fidelity})"
        targets_seen = sum(o.fidelity >= FULL_FIDELITY for o in history.observations) \
            + int(np.sum(s_P >= FULL_FIDELITY))
        while True:
            rows = np.array([i for i in np.flatnonzero(free) if room(int(i))], dtype=int)
            short = self.settings.min_target_runs - targets_seen \
                - sum(p.fidelity >= FULL_FIDELITY for p in out)
            if short > 0 and len(rows):  # too few target runs: target rows only
                rows = rows[pool.fidelities[rows] >= FULL_FIDELITY]
            if not len(rows):
                return
            X_b = np.vstack([P, *(p.x[None, :] for p in out)])
            s_b = np.r_[s_P, [p.fidelity for p in out]]
            believed = model.believe(X_b, s_b) if len(X_b) else model
            incumbent = np.vstack([seen, X_b])
            best = float(np.max(believed.predict(incumbent, TARGET).mean))
            score = pool_cost_weighted(believed, pool.X[rows], pool.fidelities[rows],
                                       pool.costs[rows], best)
            take(int(rows[int(np.argmax(score))]), "acquisition", label)

    def _free_rows(self, history: History, pool: CandidatePool) -> np.ndarray:
        """`c` flags: the pool rows not observed at their fidelity, not pending at any
        fidelity (its result is awaited: a cheaper or dearer run of the same mixture waits
        for it) and not abandoned (target rows), each within `SAME_MIXTURE`."""
        d = self.settings.space.dim
        free = np.ones(len(pool), dtype=bool)
        s = pool.fidelities
        for o in history.observations:
            near = np.linalg.norm(pool.X - np.asarray(o.x, dtype=float), axis=1) < SAME_MIXTURE
            free &= ~(near & (np.abs(s - o.fidelity) < 1e-9))
        for x in history.pending_at(d)[0]:
            free &= np.linalg.norm(pool.X - x, axis=1) >= SAME_MIXTURE
        for x in _rows(history.abandoned, d):
            near = np.linalg.norm(pool.X - x, axis=1) < SAME_MIXTURE
            free &= ~(near & (s >= FULL_FIDELITY))
        return free

    def _design_rows(self, pool: CandidatePool, multi: bool) -> list[int]:
        """Pool rows of the initial design: each design point's nearest row not yet used,
        among the cheapest fidelity's rows when multi-fidelity, else the target rows.
        Independent of the history (so the design is the same on every call)."""
        s = pool.fidelities
        level = s.min() if multi else TARGET
        rows = np.flatnonzero(np.abs(s - level) < 1e-9)
        used: list[int] = []
        for x in self._design:
            dist = np.linalg.norm(pool.X[rows] - x, axis=1)
            dist[np.isin(rows, used)] = np.inf
            if np.isfinite(dist).any():
                used.append(int(rows[int(np.argmin(dist))]))
        return used

    def _pool_order(self, fitted: FittedPolicy, pool: CandidatePool, free: np.ndarray,
                    out: list[Proposal], n: int, seed: int, pending: np.ndarray) -> np.ndarray:
        """Free target rows in qLogNEI's order of preference (best first), the pending
        mixtures and this batch's rows so far as BoTorch's `X_pending`."""
        rows = np.flatnonzero(free)
        in_flight = np.vstack([pending, *(p.x[None, :] for p in out)])
        k = min(n - len(out), len(rows))
        chosen = pool_log_nei(fitted.model.to_botorch(), fitted.X, pool.X[rows], k,
                              X_pending=in_flight, seed=seed)
        return rows[chosen]

    def _design_points(self, history: History, taken: np.ndarray, n: int) -> list[Proposal]:
        design = self._design
        if sum(o.warm_start for o in history.observations) >= len(design):
            return []  # earlier studies already cover the design's job
        out: list[Proposal] = []
        for i, x in enumerate(design):
            if len(out) == n:
                break
            if _near(x, taken) or _near(x, np.vstack([p.x for p in out] or [taken[:0]])):
                continue
            out.append(Proposal(x, "design", f"initial design {self.settings.design}, "
                                f"point {i + 1} of {len(design)}"))
        return out

    def _propose(self, fitted: FittedPolicy, k: int, in_flight: np.ndarray, seed: int) \
            -> np.ndarray:
        X_pending = in_flight if len(in_flight) else None
        model = fitted.model
        if len(fitted.models) > 1:
            from mixopt import acquisition  # torch/BoTorch only when proposing

            return acquisition.propose_batch_multiobjective(list(fitted.models), k,
                                                            X_pending=X_pending, seed=seed)
        if hasattr(model, "to_botorch"):
            from mixopt import acquisition

            return acquisition.propose_batch(model, k, X_pending=X_pending, seed=seed)
        if hasattr(model, "propose"):  # the reference's own candidates (quadsurface)
            X = model.propose(k, X_pending=X_pending)
            return np.asarray(X, dtype=float).reshape(-1, fitted.X.shape[1])
        return self._upper_bound_batch(fitted, k, in_flight, seed)

    def _upper_bound_batch(self, fitted: FittedPolicy, k: int, in_flight: np.ndarray,
                           seed: int) -> np.ndarray:
        """For surrogates without a BoTorch model or proposals of their own: greedily maximize
        mean + 1.645 std of the (maximized) objective, away from everything taken."""
        space = self.settings.space
        rng = np.random.default_rng([seed, 17])
        chosen: list[np.ndarray] = []
        avoid = np.vstack([fitted.X, in_flight])

        def score(Z: np.ndarray) -> np.ndarray:
            pred = fitted.model.predict(Z)
            value = pred.mean + Z90 * pred.std
            near = np.vstack([avoid, *chosen]) if chosen else avoid
            if len(near):
                dist = np.linalg.norm(Z[:, None, :] - near[None], axis=-1).min(axis=1)
                value = np.where(dist < SAME_MIXTURE, -np.inf, value)
            return value

        for _ in range(k):
            x, value = simplex.maximize(score, space, rng)
            if not np.isfinite(value):
                break
            chosen.append(x)
        return np.vstack(chosen) if chosen else np.empty((0, space.dim))

    def _distinct(self, X: np.ndarray, taken: np.ndarray, out: list[Proposal]) -> list[Proposal]:
        """The acquisition's proposals that repeat nothing taken or chosen."""
        kept: list[Proposal] = []
        for x in np.atleast_2d(X) if len(X) else []:
            near = np.vstack([taken, *(p.x[None, :] for p in out + kept)])
            if not _near(x, near):
                kept.append(Proposal(np.asarray(x, dtype=float), "acquisition",
                                     f"{self._acquisition_name()} on {self.settings.surrogate}"))
        return kept

    def _acquisition_name(self) -> str:
        if len(self.settings.maximize) > 1:
            return "qLogNEHVI"
        if self.settings.surrogate in surrogate_options.BOTORCH_SURROGATES:
            return "qLogNEI"
        return "the surrogate's own proposals"

    def _explore(self, k: int, taken: np.ndarray, out: list[Proposal]) -> list[Proposal]:
        """`k` space-filling points away from everything taken; replicates when the space
        has no room left (e.g. bounds that leave one mixture)."""
        space = self.settings.space
        count = len(taken) + len(out) + k + 16
        C = simplex.sample(count, space, np.random.default_rng(self.settings.seed + 1),
                           method="sobol")
        chosen: list[Proposal] = []
        for x in C:
            if len(chosen) == k:
                break
            near = np.vstack([taken, *(p.x[None, :] for p in out + chosen)])
            if not _near(x, near):
                chosen.append(Proposal(x, "explore", "space-filling point (Sobol) while the "
                                       "surrogate cannot propose"))
        while len(chosen) < k:  # nothing distinct is left: say so, and repeat on purpose
            x = C[len(chosen) % len(C)]
            chosen.append(Proposal(x, "replicate", "replicate: the search space has no "
                                   "untried mixture left"))
        return chosen

    def _expected_improvement(self, fitted: FittedPolicy, X: np.ndarray) -> float:
        """Best analytic expected improvement over the observed best at `X` (objective units)."""
        from scipy import stats  # ~1 s to import: not for the CLI's commands that never ask

        sign = fitted.signs[0]
        mean, std = fitted.predict(X)
        best = float(np.max(sign * fitted.y))
        z = (sign * mean - best) / np.maximum(std, 1e-12)
        return float(np.max(std * (z * stats.norm.cdf(z) + stats.norm.pdf(z))))

    # -- recommending ---------------------------------------------------------------------

    def recommend(self, history: History, pool: CandidatePool | None = None) \
            -> PolicyRecommendation | None:
        """The mixture to train at full budget, or None without a full-fidelity observation
        (with `multi_fidelity`: without any observation).

        The surrogate's argmax (over the simplex, or over the target rows of `pool`), unless
        (with `check_recommendation`) its leave-one-out RMSE is worse than predicting the
        mean, or its predicted mean is below the best observed value by more than
        `BELOW_BEST_NOISE_SDS` noise sds; then, or when no surrogate can be fitted, the best
        observed mixture (``rule="best-observed"``, the reason recorded).

        Raises:
            MixoptError: a multi-fidelity policy without a pool.
        """
        multi = self.settings.multi_fidelity is not None
        if multi and pool is None:
            raise MixoptError("multi-fidelity recommendations need a candidate pool (pool=)")
        X, Y = self._arrays(history)
        if not len(X) and not (multi and history.observations):
            return None
        candidates = None if pool is None else pool.X[pool.target_rows()]
        try:
            fitted = self.fit(history)
        except FitError as err:
            failed = not isinstance(err, TooFewObservations)
            if not len(X):
                return self._best_proxy(history, candidates, f"no surrogate fit ({err})",
                                        failed)
            return self._best_observed(X, Y[:, 0], None, f"no surrogate fit ({err})",
                                       fit_failed=failed)
        rec = fitted.argmax(candidates)
        if not self.settings.check_recommendation or not len(X):
            return rec
        diag = fitted.loo()
        if diag is not None and diag.worse_than_mean:
            return self._best_observed(
                X, Y[:, 0], fitted, f"the surrogate's leave-one-out RMSE {diag.rmse:.4g} is "
                f"worse than predicting the mean ({diag.mean_baseline_rmse:.4g})")
        sign = fitted.signs[0]
        best = float(np.max(sign * fitted.target_y()))
        margin = BELOW_BEST_NOISE_SDS * (fitted.noise_sd() or 0.0)
        if sign * rec.mean < best - margin:
            return self._best_observed(
                X, Y[:, 0], fitted, f"the surrogate's best predicted mean {rec.mean:.4g} is "
                f"below the best observed value {sign * best:.4g}"
                + (f" by more than {BELOW_BEST_NOISE_SDS:g} noise sds" if margin else ""))
        return rec

    def _best_proxy(self, history: History, candidates: np.ndarray | None, reason: str,
                    fit_failed: bool) -> PolicyRecommendation:
        """Only lower fidelities observed and no fit: the best mixture of the highest
        fidelity observed (its pool target row); its value is not in target units (nan)."""
        top = max(o.fidelity for o in history.observations)
        obs = [o for o in history.observations if o.fidelity == top]
        sign = 1.0 if self.settings.maximize[0] else -1.0
        x = np.asarray(max(obs, key=lambda o: sign * o.values[0]).x, dtype=float)
        if candidates is not None and len(candidates):
            x = candidates[int(np.argmin(np.linalg.norm(candidates - x, axis=1)))]
        mixture = Mixture.from_vector(x, self.settings.space.domains, normalize=True)
        return PolicyRecommendation(mixture, float("nan"), float("nan"), rule="best-observed",
                                    reason=f"{reason}; best at fidelity {top:g}",
                                    fit_failed=fit_failed)

    def _best_observed(self, X: np.ndarray, y: np.ndarray, fitted: FittedPolicy | None,
                       reason: str, *, fit_failed: bool = False) -> PolicyRecommendation:
        """The best observed mixture; its mean over replicates and the sd of a new run."""
        sign = 1.0 if self.settings.maximize[0] else -1.0
        i = int(np.argmax(sign * y))
        same = np.linalg.norm(X - X[i], axis=1) < SAME_MIXTURE
        if fitted is not None:
            noise = fitted.noise_sd()
        else:
            rep, _ = replicate_noise(X, y)
            noise = self.settings.noise_sd if self.settings.noise_sd is not None else rep
        r = int(same.sum())
        # A new run varies by the noise; the mean of r runs is itself uncertain by noise/sqrt(r).
        std = float("nan") if noise is None else noise * math.sqrt(1.0 + 1.0 / r)
        latent = None if noise is None else noise / math.sqrt(r)
        mixture = Mixture.from_vector(X[i], self.settings.space.domains, normalize=True)
        return PolicyRecommendation(mixture, float(np.mean(y[same])), std, latent_std=latent,
                                    noise_std=noise, rule="best-observed", reason=reason,
                                    fit_failed=fit_failed)


def _rows(X: np.ndarray | Sequence[Any] | None, d: int) -> np.ndarray:
    if X is None or len(X) == 0:
        return np.empty((0, d))
    return np.atleast_2d(np.asarray(X, dtype=float)).reshape(-1, d)
