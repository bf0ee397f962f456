"""A study with proxy trials fitted as its search policy fits it, for `study predict`/`report`.

A study with ``search.proxies`` proposes and recommends with a `MultiFidelityGP` fitted to
every completed trial, a proxy trial at its proxy's cost as fidelity (`studies.orchestrator`).
`fit_with_proxies` fits that model through the same policy (`mixopt.policy.SearchPolicy.fit`)
and shows it at the target fidelity, so predict and the report give what the search believed,
not a refit to the target trials alone; its leave-one-out refits it without each target
trial in turn (the policy itself has no leave-one-out of this model, so its recommendation
check does not use it). A proxy the study does not declare (a warm start's) is not fitted,
as in the orchestrator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mixopt.errors import FitError
from mixopt.mixture import MixtureSpace
from mixopt.policy import FittedPolicy, History, Observation, PolicySettings, SearchPolicy
from mixopt.pool import TARGET
from mixopt.surrogates.base import Prediction, Recommendation, recommend_by_mean
from mixopt.surrogates.diagnostics import LOODiagnostics, loo_diagnostics
from studies.trials import TrialStatus, latest_attempts

if TYPE_CHECKING:
    from studies.analysis import StudyView


@dataclass(frozen=True)
class TargetFidelity:
    """A fitted multi-fidelity policy seen at the target fidelity, shaped as a surrogate:
    `predict` (`m x d` -> `Prediction`) and `recommend`, in the fitted model's units (the
    objective times the view's sign, maximized)."""

    fitted: FittedPolicy
    history: History  # what `fitted` was fitted to

    @property
    def settings(self) -> PolicySettings:
        return self.fitted.settings

    @property
    def space(self) -> MixtureSpace:
        return self.fitted.settings.space

    def predict(self, X: np.ndarray) -> Prediction:
        return self.fitted.model.predict(np.atleast_2d(np.asarray(X, dtype=float)), TARGET)

    def recommend(self) -> Recommendation:
        """The best predicted target run over the space (every fitted mixture a candidate)."""
        return recommend_by_mean(self, self.fitted.X, seed=self.settings.seed)

    def loo(self) -> LOODiagnostics | None:
        """Leave-one-out over the target trials, in the model's units: each target trial
        predicted at the target fidelity by the policy's fit of every other trial (proxies
        included); None with fewer than 3 target trials or a refit that fails. One refit per
        target trial (no closed form for the multi-fidelity GP)."""
        obs = self.history.observations
        target = [i for i, o in enumerate(obs) if o.fidelity >= 1.0]
        if len(target) < 3:
            return None
        mean, std = np.empty(len(target)), np.empty(len(target))
        for k, i in enumerate(target):
            rest = History(tuple(o for j, o in enumerate(obs) if j != i))
            try:
                fitted = SearchPolicy(self.settings).fit(rest)
            except FitError:
                return None
            pred = fitted.model.predict(np.asarray(obs[i].x, dtype=float)[None, :], TARGET)
            mean[k], std[k] = pred.mean[0], pred.std[0]
        y = np.array([self.fitted.signs[0] * obs[i].values[0] for i in target])
        return loo_diagnostics(mean, std, y)


def proxy_history(view: StudyView) -> History:
    """The completed trials of `view` as the policy's observations: target trials at
    fidelity 1, proxy trials at their declared proxy's cost (`StudyView.proxy_costs`)."""
    observations = []
    for r in latest_attempts(view.trials):
        if r.status is not TrialStatus.COMPLETED or r.objective is None:
            continue
        fidelity = 1.0 if r.is_target else view.proxy_costs.get(r.proxy)
        if fidelity is None:
            continue
        x = np.array([r.weights.get(d, 0.0) for d in view.domains], dtype=float)
        observations.append(Observation(x, (float(r.objective),), fidelity=fidelity,
                                        cost=fidelity, warm_start=r.index < 0))
    return History(tuple(observations))


def fit_with_proxies(view: StudyView) -> tuple[TargetFidelity, int] | None:
    """The multi-fidelity fit of `view`'s completed trials and the number of proxy trials in
    it; None when the view declares no proxies or has no completed proxy trial.

    Raises:
        FitError: fewer trials than the multi-fidelity GP needs, or a fit that failed.
    """
    if view.proxy_kernel is None:
        return None
    history = proxy_history(view)
    proxies = sum(o.fidelity < 1.0 for o in history.observations)
    if not proxies:
        return None
    settings = PolicySettings(space=view.space, surrogate=view.surrogate,
                              surrogate_options=dict(view.surrogate_options),
                              maximize=(view.maximize,), seed=view.seed,
                              multi_fidelity=view.proxy_kernel)
    fitted = SearchPolicy(settings).fit(history)
    return TargetFidelity(fitted, history), proxies
