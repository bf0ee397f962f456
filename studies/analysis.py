"""What a study's results say: the surrogate fitted to its completed trials, its predictions.

Shared by the orchestrator (recommendation), ``mixopt study predict`` and the report. The
surrogate always sees "higher is better": a minimized objective is negated before fitting and
its predictions are negated back (`StudyView.sign`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mixopt import simplex, surrogates
from mixopt.errors import FitError
from mixopt.mixture import DomainBounds, Mixture, MixtureSpace
from mixopt.surrogates.diagnostics import LOODiagnostics, loo
from studies.trials import TrialRecord, completed

if TYPE_CHECKING:
    from studies.config import StudyConfig

# Candidates scored when looking for the top-K mixtures, and the least Euclidean distance
# between two of them (so that the top K are not K copies of one optimum).
TOP_K_CANDIDATES = 4096
TOP_K_MIN_DISTANCE = 0.05


@dataclass(frozen=True)
class StudyView:
    """A study as read from its ledger: enough to analyse, report and compare it.

    Attributes:
        name: the study's name.
        domains: domain names, the column order of every `n x d` array here.
        objective: name of the objective metric (e.g. ``out_score``).
        maximize: whether higher objective values are better.
        surrogate: registered surrogate name (``mixopt.surrogates.create``) and its options.
        trials: every attempt of every trial (`TrialRecord`).
        bounds: optional per-domain weight bounds of the search space.
        seed: the study's seed.
        parent_run_id: the study's MLflow parent run, if read from a ledger.
        proxy_costs: the declared proxies' names and costs (``search.proxies``; empty
            without); proxy_kernel: their multi-fidelity kernel, or None (`studies.proxy_fit`).
    """

    name: str
    domains: tuple[str, ...]
    objective: str
    maximize: bool
    surrogate: str
    trials: tuple[TrialRecord, ...]
    surrogate_options: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    seed: int = 0
    parent_run_id: str | None = None
    proxy_costs: Mapping[str, float] = field(default_factory=dict)
    proxy_kernel: str | None = None

    @property
    def space(self) -> MixtureSpace:
        return MixtureSpace(
            self.domains,
            {name: DomainBounds(lo, hi) for name, (lo, hi) in self.bounds.items()},
        )

    @property
    def sign(self) -> float:
        """+1 for a maximized objective, -1 for a minimized one."""
        return 1.0 if self.maximize else -1.0

    def observations(self) -> tuple[np.ndarray, np.ndarray]:
        """`X: n x d` mixtures and `y: n` objective values (as configured, not negated) of the
        completed trials, ordered by trial index."""
        done = completed(self.trials)
        X = np.array([[r.weights.get(d, 0.0) for d in self.domains] for r in done], dtype=float)
        y = np.array([r.objective for r in done], dtype=float)
        return X.reshape(len(done), len(self.domains)), y

    def best_observed(self) -> TrialRecord | None:
        """The completed trial with the best objective value, or None."""
        done = completed(self.trials)
        if not done:
            return None
        return max(done, key=lambda r: self.sign * float(r.objective))  # type: ignore[arg-type]

    def new_surrogate(self) -> Any:
        return surrogates.create(
            self.surrogate, self.space, seed=self.seed, **dict(self.surrogate_options)
        )


def view_of(config: StudyConfig, trials: list[TrialRecord], parent: str | None) -> StudyView:
    """The `StudyView` of a config and its trials."""
    proxies = config.search.proxies
    return StudyView(
        name=config.name, domains=config.domain_names, objective=config.eval.objective.label,
        maximize=config.eval.objective.maximize, surrogate=config.search.surrogate.name,
        surrogate_options=dict(config.search.surrogate.options), trials=tuple(trials),
        bounds={k: (float(lo), float(hi)) for k, (lo, hi) in config.search.bounds.items()},
        seed=config.search.seed, parent_run_id=parent,
        proxy_costs={} if proxies is None else {p.name: float(p.cost) for p in proxies.levels},
        proxy_kernel=None if proxies is None else proxies.kernel,
    )


@dataclass(frozen=True)
class Predicted:
    """A mixture with the surrogate's predictive mean and std, in the objective's units.

    `std` is the sd of a new training run's objective (the model's uncertainty and the noise
    together, where the model has a noise term). `rule` says what chose a recommendation
    (``surrogate`` or ``best-observed``, `mixopt.policy`), `reason` why.
    """

    mixture: Mixture
    mean: float
    std: float
    rule: str = "surrogate"
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        std = self.std if np.isfinite(self.std) else None
        return {"weights": self.mixture.to_dict(), "mean": self.mean, "std": std,
                "std_is": "sd of a new training run (model and noise together)",
                "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class FittedStudy:
    """A surrogate fitted to a study's completed trials, with views in objective units.

    Attributes:
        view: the study.
        model: the fitted surrogate (it sees ``sign * objective``); with proxy trials the
            study's multi-fidelity fit at the target fidelity (`studies.proxy_fit`).
        X, y: the `n x d` target trials' mixtures and their `n` objective values.
        proxy_trials: the proxy trials the model was fitted to as well (0: none).
    """

    view: StudyView
    model: Any
    X: np.ndarray
    y: np.ndarray
    proxy_trials: int = 0

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std (`m`-vectors, objective units) at `X: m x d`."""
        pred = self.model.predict(np.atleast_2d(X))
        return self.view.sign * pred.mean, pred.std

    def recommend(self) -> Predicted:
        """The mixture of best predicted mean (computed once: `top_k` and `effect_curves` reuse
        it, and maximizing the mean takes a good fraction of a second for the GP)."""
        return self._recommendation

    @functools.cached_property
    def _recommendation(self) -> Predicted:
        rec = self.model.recommend()
        return Predicted(rec.mixture, self.view.sign * rec.mean, rec.std)

    def top_k(self, k: int) -> list[Predicted]:
        """The `k` best predicted mixtures, at least `TOP_K_MIN_DISTANCE` apart, best first."""
        best = self.recommend()
        space = self.view.space
        rng = np.random.default_rng([self.view.seed, 4242])
        cand = np.vstack([simplex.sample(TOP_K_CANDIDATES, space, rng), self.X])
        mean, std = self.predict(cand)
        order = np.argsort(-self.view.sign * mean)
        chosen: list[Predicted] = [best]
        picked = [best.mixture.to_vector(space.domains)]
        for i in order:
            if len(chosen) >= k:
                break
            if min(np.linalg.norm(cand[i] - p) for p in picked) < TOP_K_MIN_DISTANCE:
                continue
            picked.append(cand[i])
            chosen.append(Predicted(
                Mixture.from_vector(cand[i], space.domains, normalize=True),
                float(mean[i]), float(std[i]),
            ))
        return chosen[:k]

    def loo(self) -> LOODiagnostics | None:
        """Leave-one-out diagnostics (objective units) over the target trials, or None with
        fewer than 3 of them or a refit that failed. With proxy trials each target trial is
        left out of the multi-fidelity fit in turn (`studies.proxy_fit.TargetFidelity.loo`)."""
        if len(self.y) < 3:
            return None
        if self.proxy_trials:
            diag = self.model.loo()
            if diag is None:
                return None
        else:
            try:
                # The model is fitted to exactly these points: a closed-form LOO (the GP's)
                # needs no second fit (the fit is seeded, so a refit gives the same model).
                diag = loo(self.view.new_surrogate, self.X, self.view.sign * self.y,
                           fitted=self.model)
            except FitError:
                return None
        if self.view.sign > 0:
            return diag
        return LOODiagnostics(
            mean=-diag.mean, std=diag.std, rmse=diag.rmse, spearman=diag.spearman,
            coverage90=diag.coverage90, mean_baseline_rmse=diag.mean_baseline_rmse,
            worse_than_mean=diag.worse_than_mean,
        )


def fit_study(view: StudyView) -> FittedStudy:
    """The study's surrogate fitted to its completed trials; with completed proxy trials of
    declared proxies, the search policy's multi-fidelity fit of all of them
    (`studies.proxy_fit`).

    Raises:
        FitError: fewer completed trials than the surrogate needs, or a fit that failed.
    """
    X, y = view.observations()
    if view.proxy_kernel is not None:
        from studies.proxy_fit import fit_with_proxies

        try:
            found = fit_with_proxies(view)
        except FitError as err:
            raise FitError(f"study {view.name!r}: {err}") from None
        if found is not None:
            model, proxies = found
            return FittedStudy(view, model, X, y, proxy_trials=proxies)
    model = view.new_surrogate()
    if len(y) < model.min_observations:
        raise FitError(
            f"study {view.name!r} has {len(y)} completed trial(s); surrogate "
            f"{view.surrogate!r} needs at least {model.min_observations}"
        )
    model.fit(X, view.sign * y)
    return FittedStudy(view, model, X, y)


def effect_curves(
    fitted: FittedStudy, points: int = 21
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per-domain effect: the prediction along the line from the recommended mixture to each
    domain's vertex, with the other weights kept in proportion (Cox direction).

    Returns:
        domain -> (weights of that domain: `points`, mean: `points`, std: `points`).
    """
    domains = fitted.view.domains
    base = fitted.recommend().mixture.to_vector(domains)
    curves = {}
    for j, name in enumerate(domains):
        w = np.linspace(0.0, 1.0, points)
        rest = base.copy()
        rest[j] = 0.0
        total = rest.sum()
        if total > 0:
            others = rest / total
        elif len(domains) > 1:  # the recommendation is domain j's vertex: blend the others evenly
            others = np.full(len(domains), 1.0 / (len(domains) - 1))
        else:  # one domain: its weight is 1 everywhere but at w = 0, where nothing is left
            others = np.zeros(1)
        others[j] = 0.0
        X = (1.0 - w)[:, None] * others[None, :]
        X[:, j] = w
        mean, std = fitted.predict(X)
        curves[name] = (w, mean, std)
    return curves


def interaction_matrix(fitted: FittedStudy) -> np.ndarray:
    """`d x d` pairwise interaction: for domains i, j the prediction at the 50/50 blend minus
    the mean of the two pure-domain predictions (positive: the pair helps each other).
    The diagonal is 0."""
    d = len(fitted.view.domains)
    eye = np.eye(d)
    pure, _ = fitted.predict(eye)
    out = np.zeros((d, d))
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    if pairs:
        blends = np.array([(eye[i] + eye[j]) / 2 for i, j in pairs])
        mean, _ = fitted.predict(blends)
        for (i, j), m in zip(pairs, mean, strict=True):
            out[i, j] = out[j, i] = m - (pure[i] + pure[j]) / 2
    return out


def best_so_far(values: Sequence[float], maximize: bool) -> np.ndarray:
    """Running best of `values` (in order)."""
    arr = np.asarray(values, dtype=float)
    return np.maximum.accumulate(arr) if maximize else np.minimum.accumulate(arr)
