"""Early stopping: at a checkpoint, should a running trial be stopped?

A trial is a `TrialCurve`: its mixture and the values it reported at fractions of its
training budget. A rule's `decide(trial, others)` looks at the trial and the other trials'
curves (completed or not) and answers a `StopDecision`, whose `numbers` and `reason` say why
(what a study records as the "stopped early" reason).

    PercentileRule   the baseline, Ax's ``PercentileEarlyStoppingStrategy``: stop when the
                     trial's value at its latest progression is below the `percentile`-th
                     percentile of the values of all trials that reached that progression
                     (the trial included; curves interpolated linearly between their
                     checkpoints, never extrapolated), once `min_curves` trials are complete
                     and the trial has reached `min_progression` (and not passed
                     `max_progression`).
    PredictiveRule   ours: fit a model of (mixture, fraction) -> value to every checkpoint of
                     every trial, and stop when the trial's predicted value at full budget is
                     below the incumbent's (the completed trial of best predicted full-budget
                     value) with probability >= 1 - `alpha`.

The model of `PredictiveRule` is anything with ``fit(X: n x d, fidelity: n, y: n)`` and
``predict(X: m x d, fidelity: m or float) -> Prediction`` (`CurveModel`);
`mixopt.surrogates.multi_fidelity.MultiFidelityGP` has that interface. The default is
`CurveGP` below, a small GP of this module (the multi-fidelity surrogate did not exist when it
was written). Values are in the objective's units; `maximize` says which way is better.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from scipy import stats

from mixopt.errors import FitError, MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import Prediction

FULL_BUDGET = 1.0
RuleName = Literal["percentile", "predictive", "oracle"]  # oracle: benchmarks only


@dataclass(frozen=True, eq=False)
class TrialCurve:
    """What one trial has reported so far.

    Attributes:
        x: `d` mixture weights.
        fractions: increasing fractions of the training budget in (0, 1] with a value.
        values: the objective at those fractions (objective units).
        completed: the trial ran its full budget.

    Raises:
        MixoptError: lengths that differ, fractions not increasing in (0, 1], a value that
            is not finite, or weights that are not a finite `d`-vector.
    """

    x: np.ndarray
    fractions: tuple[float, ...]
    values: tuple[float, ...]
    completed: bool = False

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=float)
        if x.ndim != 1 or not len(x) or not np.all(np.isfinite(x)):
            raise MixoptError(f"trial curve: weights must be a finite d-vector, got shape "
                              f"{x.shape}")
        object.__setattr__(self, "x", x)
        t = np.asarray(self.fractions, dtype=float)
        object.__setattr__(self, "fractions", tuple(float(f) for f in t))
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if len(t) != len(self.values):
            raise MixoptError(f"trial curve: {len(t)} fraction(s) for {len(self.values)} "
                              "value(s)")
        if np.any(~(t > 0) | (t > 1)) or np.any(np.diff(t) <= 0):
            raise MixoptError(f"trial curve: fractions must increase within (0, 1], got "
                              f"{list(self.fractions)}")
        if not all(math.isfinite(v) for v in self.values):
            raise MixoptError(f"trial curve: values must be finite, got {list(self.values)}")

    @property
    def progression(self) -> float:
        """The latest fraction with a value (0 before the first checkpoint)."""
        return self.fractions[-1] if self.fractions else 0.0

    def value_at(self, fraction: float) -> float | None:
        """The value at `fraction`, linear between checkpoints; None outside the curve."""
        if not self.fractions or not self.fractions[0] <= fraction <= self.fractions[-1]:
            return None
        return float(np.interp(fraction, self.fractions, self.values))


@dataclass(frozen=True)
class StopDecision:
    """A rule's answer for one trial at its latest checkpoint.

    Attributes:
        stop: stop the trial now.
        rule: which rule answered.
        reason: one sentence with the numbers (for the trial's status).
        numbers: the rule's numbers by name (objective units; probabilities in [0, 1]).
    """

    stop: bool
    rule: RuleName
    reason: str
    numbers: Mapping[str, float] = field(default_factory=dict)


def _completed(others: Sequence[TrialCurve]) -> int:
    return sum(o.completed for o in others)


def _too_early(rule: RuleName, trial: TrialCurve, others: Sequence[TrialCurve],
               min_progression: float, max_progression: float | None,
               min_curves: int) -> StopDecision | None:
    """The checks both rules share; a no-stop decision when one fails, else None.

    Raises:
        MixoptError: a trial of `others` with another number of weights than `trial`.
    """
    sizes = sorted({len(o.x) for o in others} - {len(trial.x)})
    if sizes:
        raise MixoptError(f"{rule} rule: the trial has {len(trial.x)} weights, other trials "
                          f"have {', '.join(map(str, sizes))}")
    t = trial.progression
    if not trial.fractions:
        return StopDecision(False, rule, "no checkpoint value yet", {"progression": 0.0})
    if trial.completed or t >= FULL_BUDGET:
        return StopDecision(False, rule, "the trial has completed its budget", {"progression": t})
    if t < min_progression or (max_progression is not None and t > max_progression):
        return StopDecision(False, rule, f"progression {t:g} outside [{min_progression:g}, "
                            f"{max_progression if max_progression is not None else 1:g}]",
                            {"progression": t})
    done = _completed(others)
    if done < min_curves:
        return StopDecision(False, rule, f"{done} completed trial(s), the rule needs "
                            f"{min_curves}", {"progression": t, "completed": float(done)})
    return None


def _check_common(min_progression: float, max_progression: float | None,
                  min_curves: int) -> list[str]:
    problems = []
    if not 0 <= min_progression <= 1:
        problems.append(f"min_progression must lie in [0, 1], got {min_progression}")
    if max_progression is not None and not min_progression <= max_progression <= 1:
        problems.append(f"max_progression must lie in [min_progression, 1], got "
                        f"{max_progression}")
    if min_curves < 0:
        problems.append(f"min_curves must be >= 0, got {min_curves}")
    return problems


@dataclass(frozen=True)
class PercentileRule:
    """Ax's percentile rule (defaults as Ax's: 50th percentile, 5 completed curves).

    Attributes:
        percentile: in [0, 100]: the bottom `percentile` % of trials at the same progression
            are stopped (bottom means worst, whichever way `maximize` points).
        min_progression: do not stop before this fraction of the budget.
        max_progression: do not stop after it (None: any time before completion).
        min_curves: completed trials needed before anything is stopped (and trials with a
            value at the progression compared).
        maximize: higher values are better.

    Raises:
        MixoptError: a setting out of range (all problems at once).
    """

    percentile: float = 50.0
    min_progression: float = 0.0
    max_progression: float | None = None
    min_curves: int = 5
    maximize: bool = True

    def __post_init__(self) -> None:
        problems = _check_common(self.min_progression, self.max_progression, self.min_curves)
        if not 0 <= self.percentile <= 100:
            problems.append(f"percentile must lie in [0, 100], got {self.percentile}")
        if problems:
            raise MixoptError("percentile rule: " + "; ".join(problems))

    def decide(self, trial: TrialCurve, others: Sequence[TrialCurve]) -> StopDecision:
        """Stop `trial` if its latest value is in the bottom `percentile` % of the values of
        the trials (it included) that reached its progression."""
        early = _too_early("percentile", trial, others, self.min_progression,
                           self.max_progression, self.min_curves)
        if early is not None:
            return early
        t = trial.progression
        value = trial.values[-1]
        peers = [v for v in (o.value_at(t) for o in others) if v is not None]
        compared = np.array([*peers, value])
        if len(compared) < self.min_curves:
            return StopDecision(False, "percentile", f"{len(compared)} trial(s) with a value "
                                f"at progression {t:g}, the rule needs {self.min_curves}",
                                {"progression": t, "compared": float(len(compared))})
        # As Ax: for a minimized metric the bottom is the top `percentile` % of values.
        q = self.percentile if self.maximize else 100.0 - self.percentile
        threshold = float(np.percentile(compared, q))
        stop = bool(value < threshold if self.maximize else value > threshold)
        word = "worse" if stop else "not worse"
        numbers = {"progression": t, "value": float(value), "threshold": threshold,
                   "percentile": float(q), "compared": float(len(compared))}
        return StopDecision(stop, "percentile", f"value {value:.4g} at {t:g} of the budget is "
                            f"{word} than the {q:g}th percentile {threshold:.4g} of "
                            f"{len(compared)} trials there", numbers)


class CurveModel(Protocol):
    """A model of the objective over (mixture, fraction of the budget); higher is better."""

    def fit(self, X: np.ndarray, fidelity: np.ndarray, y: np.ndarray) -> None: ...

    def predict(self, X: np.ndarray, fidelity: np.ndarray | float) -> Prediction: ...


@dataclass(frozen=True)
class PredictiveRule:
    """Stop when the trial's full-budget value is below the incumbent's with probability
    >= 1 - `alpha`, under a model of (mixture, fraction) -> value fitted to every checkpoint.

    The probability is that of ``F(x) < F(x_inc)`` for the latent full-budget values (noise
    of a new run left out: the question is which mixture is better), under the model's joint
    posterior when it has one (`CurveGP.predict_latent`), else treating the two as
    independent. The incumbent is the completed trial of best predicted full-budget value.

    Attributes:
        alpha: in (0, 1): the accepted chance of stopping a trial that would have won.
        min_progression, max_progression: as `PercentileRule`'s.
        min_curves: completed trials needed before anything is stopped (at least 1: there
            must be an incumbent).
        maximize: higher values are better.
        model: a factory of fresh `CurveModel`s, called with the mixture space and a seed.
        seed: passed to the model.

    Raises:
        MixoptError: a setting out of range (all problems at once).
    """

    alpha: float = 0.05
    min_progression: float = 0.0
    max_progression: float | None = None
    min_curves: int = 2
    maximize: bool = True
    model: Callable[[MixtureSpace, int], CurveModel] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        problems = _check_common(self.min_progression, self.max_progression, self.min_curves)
        if not 0 < self.alpha < 1:
            problems.append(f"alpha must lie in (0, 1), got {self.alpha}")
        if self.min_curves < 1:
            problems.append("min_curves must be >= 1 (the incumbent is a completed trial)")
        if problems:
            raise MixoptError("predictive rule: " + "; ".join(problems))

    def decide(self, trial: TrialCurve, others: Sequence[TrialCurve],
               space: MixtureSpace | None = None) -> StopDecision:
        """Stop `trial` if its predicted full-budget value is below the incumbent's with
        probability >= 1 - `alpha`. `space` defaults to unnamed domains of the trial's size."""
        early = _too_early("predictive", trial, others, self.min_progression,
                           self.max_progression, self.min_curves)
        if early is not None:
            return early
        t = trial.progression
        sign = 1.0 if self.maximize else -1.0
        curves = [*others, trial]
        X = np.vstack([np.repeat(np.atleast_2d(c.x), len(c.fractions), axis=0)
                       for c in curves if c.fractions])
        fid = np.concatenate([c.fractions for c in curves]).astype(float)
        y = sign * np.concatenate([c.values for c in curves]).astype(float)
        space = space or MixtureSpace(tuple(f"d{i}" for i in range(X.shape[1])))
        factory = self.model or (lambda s, seed: CurveGP(s, seed=seed))
        model = factory(space, self.seed)
        try:
            model.fit(X, fid, y)
            done = np.vstack([o.x for o in others if o.completed])
            mean_done = _latent(model.predict(done, FULL_BUDGET))[0]
            inc = done[int(np.argmax(mean_done))]
            mean, cov = _joint(model, np.vstack([trial.x, inc]))
        except FitError as err:
            return StopDecision(False, "predictive", f"the curve model failed ({err})",
                                {"progression": t})
        diff_sd = math.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 1e-18))
        p_below = float(stats.norm.cdf((mean[1] - mean[0]) / diff_sd))
        stop = bool(p_below >= 1 - self.alpha)
        numbers = {"progression": t, "value": float(trial.values[-1]),
                   "predicted_final": float(sign * mean[0]),
                   "predicted_final_sd": math.sqrt(max(cov[0, 0], 0.0)),
                   "incumbent_final": float(sign * mean[1]),
                   "difference_sd": diff_sd, "probability_below": p_below,
                   "alpha": self.alpha}
        word = ">=" if stop else "<"
        return StopDecision(stop, "predictive", f"at {t:g} of the budget the predicted "
                            f"full-budget value {sign * mean[0]:.4g} +- "
                            f"{numbers['predicted_final_sd']:.2g} is below the incumbent's "
                            f"{sign * mean[1]:.4g} with probability {p_below:.3f} {word} "
                            f"1 - alpha = {1 - self.alpha:g}", numbers)


def _latent(pred: Prediction) -> tuple[np.ndarray, np.ndarray]:
    std = pred.latent_std if pred.latent_std is not None else pred.std
    return np.asarray(pred.mean, dtype=float), np.asarray(std, dtype=float)


def _joint(model: CurveModel, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latent mean (`m`) and covariance (`m x m`) at full budget; diagonal without a joint."""
    joint = getattr(model, "predict_latent", None)
    if joint is not None:
        return joint(X, FULL_BUDGET)
    mean, std = _latent(model.predict(X, FULL_BUDGET))
    return mean, np.diag(std**2)


# --- the default curve model ------------------------------------------------------------------

# The fraction enters the kernel as u = 1 + log(t) / log(16): 1/16 -> 0, 1/4 -> 0.5, 1 -> 1.
_LOG_SCALE = math.log(16.0)


def fidelity_feature(fidelity: np.ndarray) -> np.ndarray:
    """``1 + log(t) / log(16)`` of fractions `t` in (0, 1] (learning is fastest early, so
    equal ratios of budget are about equally far apart)."""
    return 1.0 + np.log(np.asarray(fidelity, dtype=float)) / _LOG_SCALE


class CurveGP:
    """Exact GP over (mixture, fraction): ``k = s1 k_t(u, u') + s2 k_x(x, x') k_t'(u, u')``.

    The first term is the learning curve common to all mixtures (RBF in the fraction feature
    `u`, see `fidelity_feature`); the second, how a mixture departs from it (Matérn 5/2 ARD
    on the `d` weights times an RBF in `u`, so a mixture's early values inform its final one
    as far as the fitted correlation across fractions allows). Standardized outcomes,
    inferred noise, hyperparameters by MAP (`fit_gpytorch_mll`), torch/BoTorch imported on
    first use.

    Args:
        space: the mixture space (columns of every `X`).
        seed: seeds the fit.
    """

    def __init__(self, space: MixtureSpace, *, seed: int = 0) -> None:
        self.space = space
        self.seed = seed
        self._model = None

    def _inputs(self, X: np.ndarray, fidelity: np.ndarray | float):  # -> torch.Tensor
        import torch

        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.space.dim:
            raise FitError(f"curve model: X has {X.shape[1]} columns for {self.space.dim} "
                           "domains")
        t = np.broadcast_to(np.asarray(fidelity, dtype=float), (len(X),))
        if np.any(~(t > 0) | (t > 1)):
            raise FitError(f"curve model: fractions must lie in (0, 1], got {sorted(set(t))}")
        return torch.as_tensor(np.column_stack([X, fidelity_feature(t)]), dtype=torch.float64)

    def fit(self, X: np.ndarray, fidelity: np.ndarray, y: np.ndarray) -> None:
        """Fit to `X: n x d`, `fidelity: n` fractions and `y: n` values (higher is better).

        Raises:
            FitError: fewer than 3 points, non-finite values, or a fit that failed.
        """
        import torch
        from botorch.exceptions.errors import ModelFittingError
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from botorch.models.utils.gpytorch_modules import (
            get_covar_module_with_dim_scaled_prior,
        )
        from gpytorch.kernels import RBFKernel, ScaleKernel
        from gpytorch.mlls import ExactMarginalLogLikelihood
        from linear_operator.utils.errors import NanError, NotPSDError

        y = np.asarray(y, dtype=float).reshape(-1)
        train_X = self._inputs(X, fidelity)
        if len(y) != len(train_X) or len(y) < 3 or not np.all(np.isfinite(y)):
            raise FitError(f"curve model: need >= 3 finite values, one per row; got {len(y)} "
                           f"for {len(train_X)} rows")
        d = self.space.dim
        common = ScaleKernel(RBFKernel(active_dims=[d]))
        mixture = get_covar_module_with_dim_scaled_prior(
            ard_num_dims=d, use_rbf_kernel=False, active_dims=list(range(d)))
        covar = common + ScaleKernel(mixture * RBFKernel(active_dims=[d]))
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            model = SingleTaskGP(train_X, torch.as_tensor(y, dtype=torch.float64)[:, None],
                                 covar_module=covar, outcome_transform=Standardize(m=1))
            try:
                fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            except (NotPSDError, NanError, ModelFittingError, RuntimeError) as err:
                reason = str(err).strip().splitlines()[0][:200] if str(err) else ""
                raise FitError(f"curve model: fit failed ({type(err).__name__}: "
                               f"{reason})") from err
        model.eval()
        self._model = model

    def _fitted(self):
        if self._model is None:
            raise FitError("curve model: call fit() before predicting")
        return self._model

    def predict_latent(self, X: np.ndarray, fidelity: np.ndarray | float) \
            -> tuple[np.ndarray, np.ndarray]:
        """Latent mean (`m`) and covariance (`m x m`) at `X: m x d` and `fidelity`."""
        import torch

        model = self._fitted()
        with torch.no_grad():
            post = model.posterior(self._inputs(X, fidelity))
            return (post.mean.reshape(-1).numpy().copy(),
                    post.covariance_matrix.reshape(len(X), len(X)).numpy().copy())

    def predict(self, X: np.ndarray, fidelity: np.ndarray | float) -> Prediction:
        """Mean, sd of a new observation, and latent sd at `X: m x d` and `fidelity`."""
        import torch

        model = self._fitted()
        with torch.no_grad():
            post = model.posterior(self._inputs(X, fidelity), observation_noise=True)
            latent = model.posterior(self._inputs(X, fidelity))
            return Prediction(mean=post.mean.reshape(-1).numpy().copy(),
                              std=post.variance.reshape(-1).clamp_min(0).sqrt().numpy().copy(),
                              latent_std=latent.variance.reshape(-1).clamp_min(0).sqrt()
                              .numpy().copy())
