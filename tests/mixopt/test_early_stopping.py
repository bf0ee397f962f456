"""Early-stopping rules: Ax's percentile rule and the predictive rule on known curves."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mixopt.early_stopping import (
    CurveGP,
    PercentileRule,
    PredictiveRule,
    StopDecision,
    TrialCurve,
)
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import Prediction

CHECKPOINTS = (0.25, 0.5, 1.0)


def _done(x, values):
    return TrialCurve(np.asarray(x, dtype=float), CHECKPOINTS, tuple(values), completed=True)


def _running(x, values, fractions=None):
    fractions = CHECKPOINTS[:len(values)] if fractions is None else fractions
    return TrialCurve(np.asarray(x, dtype=float), tuple(fractions), tuple(values))


def _field(n=5):
    """`n` completed trials whose values at 0.25 are 0.30 .. 0.30 + 0.02 (n - 1)."""
    return [_done([1 - 0.1 * i, 0.1 * i], [0.30 + 0.02 * i, 0.35 + 0.02 * i, 0.40 + 0.02 * i])
            for i in range(n)]


# --- TrialCurve ----------------------------------------------------------------------------

def test_trial_curve_interpolates_inside_and_never_extrapolates():
    c = _running([0.5, 0.5], [0.2, 0.4], fractions=(0.25, 0.75))
    assert c.progression == 0.75
    assert c.value_at(0.5) == pytest.approx(0.3)
    assert c.value_at(0.25) == pytest.approx(0.2)
    assert c.value_at(0.1) is None and c.value_at(1.0) is None
    assert TrialCurve(np.array([1.0, 0.0]), (), ()).progression == 0.0


@pytest.mark.parametrize("fractions, values, match", [
    ((0.25, 0.5), (0.1,), "2 fraction"),
    ((0.5, 0.25), (0.1, 0.2), "increase"),
    ((0.0, 0.5), (0.1, 0.2), "increase"),
    ((0.5, 1.5), (0.1, 0.2), "increase"),
    ((0.25, 0.5), (0.1, float("nan")), "finite"),
])
def test_trial_curve_refuses_bad_curves_in_one_line(fractions, values, match):
    with pytest.raises(MixoptError, match=match) as err:
        TrialCurve(np.array([0.5, 0.5]), fractions, values)
    assert "\n" not in str(err.value)


def test_trial_curve_refuses_weights_that_are_not_a_vector():
    with pytest.raises(MixoptError, match="d-vector"):
        TrialCurve(np.ones((2, 2)), (0.5,), (0.1,))


# --- PercentileRule ------------------------------------------------------------------------

def test_percentile_rule_stops_a_clearly_bad_curve_and_keeps_a_good_one():
    rule = PercentileRule()  # Ax's defaults: median, 5 completed curves
    others = _field(5)
    bad = rule.decide(_running([0.5, 0.5], [0.10]), others)
    good = rule.decide(_running([0.5, 0.5], [0.37]), others)
    assert bad.stop is True and good.stop is False
    assert bad.rule == "percentile"
    # Ax compares against the trials at the trial's progression, the trial itself included.
    threshold = float(np.percentile([0.30, 0.32, 0.34, 0.36, 0.38, 0.10], 50))
    assert bad.numbers["threshold"] == pytest.approx(threshold)
    assert bad.numbers["compared"] == 6 and bad.numbers["progression"] == 0.25
    assert bad.numbers["value"] == pytest.approx(0.10)
    assert "worse than the 50th percentile" in bad.reason and "0.1" in bad.reason
    assert "not worse" in good.reason


def test_percentile_rule_compares_at_the_trials_progression_by_interpolation():
    # At 0.375 the completed trials sit halfway between their 0.25 and 0.5 values.
    others = _field(5)
    peers = [0.325 + 0.02 * i for i in range(5)]
    for value, stop in ((0.35, True), (0.37, False)):  # medians 0.3575, 0.3675
        trial = _running([0.5, 0.5], [0.30, value], fractions=(0.25, 0.375))
        decision = PercentileRule().decide(trial, others)
        assert decision.numbers["threshold"] == pytest.approx(
            np.percentile([*peers, value], 50))
        assert decision.stop is stop


def test_percentile_rule_waits_for_min_curves_completed_trials():
    rule = PercentileRule(min_curves=5)
    others = _field(5)
    others[-1] = TrialCurve(others[-1].x, (0.25,), others[-1].values[:1])  # one still running
    decision = rule.decide(_running([0.5, 0.5], [0.10]), others)
    assert decision.stop is False
    assert decision.numbers["completed"] == 4 and "needs 5" in decision.reason
    assert PercentileRule(min_curves=4).decide(_running([0.5, 0.5], [0.10]), others).stop


def test_percentile_rule_respects_min_and_max_progression():
    others = _field(5)
    trial = _running([0.5, 0.5], [0.10])
    early = PercentileRule(min_progression=0.5).decide(trial, others)
    assert early.stop is False and "outside" in early.reason
    late = PercentileRule(max_progression=0.2).decide(trial, others)
    assert late.stop is False
    assert PercentileRule(min_progression=0.25).decide(trial, others).stop  # inclusive, as Ax


def test_percentile_rule_minimizing_stops_the_high_values():
    others = [_done(o.x, [-v for v in o.values]) for o in _field(5)]
    rule = PercentileRule(percentile=25, maximize=False)
    bad = rule.decide(_running([0.5, 0.5], [-0.10]), others)
    good = rule.decide(_running([0.5, 0.5], [-0.50]), others)
    assert bad.stop is True and good.stop is False
    assert bad.numbers["percentile"] == 75  # the bottom 25% of a minimized metric: above q75


def test_rules_never_stop_a_completed_trial_or_one_without_values():
    others = _field(5)
    for rule in (PercentileRule(), PredictiveRule(model=_fixed_model({}))):
        finished = rule.decide(_done([0.5, 0.5], [0.0, 0.0, 0.0]), others)
        assert finished.stop is False and "completed" in finished.reason
        assert rule.decide(TrialCurve(np.array([0.5, 0.5]), (), ()), others).stop is False


def test_percentile_rule_refuses_bad_settings_all_at_once_in_one_line():
    with pytest.raises(MixoptError) as err:
        PercentileRule(percentile=150, min_progression=2, min_curves=-1)
    message = str(err.value)
    assert "\n" not in message and message.startswith("percentile rule:")
    for part in ("percentile must", "min_progression", "min_curves"):
        assert part in message


def test_rules_refuse_trials_of_another_size():
    others = _field(5)
    with pytest.raises(MixoptError, match="3 weights, other trials have 2"):
        PercentileRule().decide(_running([0.2, 0.3, 0.5], [0.1]), others)


# --- PredictiveRule, against a model with known predictions ---------------------------------

def _fixed_model(final: dict[float, tuple[float, float]]):
    """A curve-model factory whose full-budget prediction at mixture ``x`` (keyed by ``x[0]``)
    is ``final[x[0]] = (mean, latent sd)``; no joint covariance (independent)."""

    class Fixed:
        fitted_rows = 0

        def __init__(self, space, seed):
            pass

        def fit(self, X, fidelity, y):
            Fixed.fitted_rows = len(y)

        def predict(self, X, fidelity):
            X = np.atleast_2d(X)
            mean = np.array([final[round(float(x[0]), 6)][0] for x in X])
            sd = np.array([final[round(float(x[0]), 6)][1] for x in X])
            return Prediction(mean=mean, std=sd, latent_std=sd)

    return Fixed


def _predictive_field():
    others = [_done([0.2, 0.8], [0.30, 0.35, 0.40]), _done([0.4, 0.6], [0.32, 0.38, 0.45])]
    final = {0.2: (0.40, 0.01), 0.4: (0.45, 0.01)}  # the incumbent is x[0] = 0.4
    return others, final


def test_predictive_rule_stops_a_curve_surely_below_the_incumbent():
    others, final = _predictive_field()
    final[0.7] = (0.35, 0.02)
    model = _fixed_model(final)
    decision = PredictiveRule(alpha=0.05, model=model).decide(_running([0.7, 0.3], [0.2]),
                                                              others)
    assert decision.stop is True and decision.rule == "predictive"
    diff_sd = math.hypot(0.02, 0.01)
    n = decision.numbers
    assert n["incumbent_final"] == pytest.approx(0.45)
    assert n["predicted_final"] == pytest.approx(0.35)
    assert n["predicted_final_sd"] == pytest.approx(0.02)
    assert n["difference_sd"] == pytest.approx(diff_sd)
    assert n["probability_below"] == pytest.approx(stats.norm.cdf(0.10 / diff_sd))
    assert n["progression"] == 0.25 and n["value"] == pytest.approx(0.2)
    assert "0.35" in decision.reason and "0.45" in decision.reason
    assert model.fitted_rows == 7  # every checkpoint of every trial, the trial's included


def test_predictive_rule_keeps_an_uncertain_curve():
    others, final = _predictive_field()
    final[0.7] = (0.40, 0.05)  # below the incumbent on average, but far from sure
    decision = PredictiveRule(alpha=0.05, model=_fixed_model(final)).decide(
        _running([0.7, 0.3], [0.2]), others)
    p = stats.norm.cdf(0.05 / math.hypot(0.05, 0.01))
    assert decision.stop is False
    assert decision.numbers["probability_below"] == pytest.approx(p) and p < 0.95
    assert "< 1 - alpha = 0.95" in decision.reason


def test_predictive_rule_needs_an_incumbent_and_respects_progression():
    others, final = _predictive_field()
    final[0.7] = (0.0, 0.01)
    model = _fixed_model(final)
    trial = _running([0.7, 0.3], [0.2])
    waiting = PredictiveRule(min_curves=3, model=model).decide(trial, others)
    assert waiting.stop is False and waiting.numbers["completed"] == 2
    assert PredictiveRule(min_progression=0.5, model=model).decide(trial, others).stop is False
    assert PredictiveRule(model=model).decide(trial, others).stop is True


def test_predictive_rule_minimizing_flips_the_sign_for_the_model():
    # Values are losses: the model sees -loss; a high predicted loss is the bad one.
    others = [_done([0.2, 0.8], [-0.30, -0.35, -0.40]), _done([0.4, 0.6], [-0.32, -0.38, -0.45])]
    final = {0.2: (0.40, 0.01), 0.4: (0.45, 0.01), 0.7: (0.30, 0.01)}  # in -loss units
    decision = PredictiveRule(maximize=False, model=_fixed_model(final)).decide(
        _running([0.7, 0.3], [-0.1]), others)
    assert decision.stop is True
    assert decision.numbers["predicted_final"] == pytest.approx(-0.30)
    assert decision.numbers["incumbent_final"] == pytest.approx(-0.45)


def test_predictive_rule_refuses_bad_settings_all_at_once_in_one_line():
    with pytest.raises(MixoptError) as err:
        PredictiveRule(alpha=1.5, min_curves=0, max_progression=-1)
    message = str(err.value)
    assert "\n" not in message and message.startswith("predictive rule:")
    for part in ("alpha", "min_curves must be >= 1", "max_progression"):
        assert part in message


def test_predictive_rule_does_not_stop_when_the_model_fails():
    from mixopt.errors import FitError

    class Failing:
        def __init__(self, space, seed):
            pass

        def fit(self, X, fidelity, y):
            raise FitError("curve model: singular")

    others, _ = _predictive_field()
    decision = PredictiveRule(model=Failing).decide(_running([0.7, 0.3], [0.0]), others)
    assert decision.stop is False and "singular" in decision.reason


# --- PredictiveRule with its default model, the curve GP -----------------------------------

def _curves():
    """Six completed runs on 3 domains (the third never used) of ``F(x) = 0.3 + 0.2 x_0``, a
    shared learning curve, observation noise of sd 0.01."""
    rng = np.random.default_rng(3)
    g = np.array([0.6, 0.85, 1.0])  # share of the final gain reached at the checkpoints
    out = []
    for x0 in np.linspace(0.0, 1.0, 6):
        final = 0.3 + 0.2 * x0
        out.append(_done([x0, 1 - x0, 0.0], 0.2 + (final - 0.2) * g + 0.01 * rng.normal(size=3)))
    return out


def test_curve_gp_rule_stops_a_bad_mixture_from_its_first_checkpoint():
    others = _curves()
    # x0 = 0.1 ends at 0.32 against the incumbent's 0.5: its 0.25 value already says so.
    bad = _running([0.1, 0.9, 0.0], [0.2 + (0.32 - 0.2) * 0.6])
    decision = PredictiveRule().decide(bad, others)
    assert decision.stop is True
    assert decision.numbers["predicted_final"] == pytest.approx(0.32, abs=0.03)
    assert decision.numbers["incumbent_final"] == pytest.approx(0.5, abs=0.03)


def test_curve_gp_rule_keeps_an_unexplored_mixture_that_starts_well():
    # Mostly the unexplored third domain, a little ahead of the incumbent at 0.25: it may end
    # anywhere, so the rule must not stop it.
    others = _curves()
    level = _running([0.2, 0.2, 0.6], [others[-1].values[0] + 0.01])
    decision = PredictiveRule().decide(level, others)
    assert decision.stop is False
    assert decision.numbers["probability_below"] < 0.95
    assert decision.numbers["predicted_final_sd"] > 0.01


def test_curve_gp_refuses_fractions_outside_the_budget_and_unfitted_use():
    from mixopt.errors import FitError

    gp = CurveGP(MixtureSpace(("a", "b")))
    with pytest.raises(FitError, match="before predicting"):
        gp.predict(np.array([[0.5, 0.5]]), 1.0)
    with pytest.raises(FitError, match=r"\(0, 1\]"):
        gp.fit(np.full((3, 2), 0.5), np.array([0.5, 1.0, 1.5]), np.zeros(3))


def test_stop_decision_is_what_a_study_records():
    d = StopDecision(True, "percentile", "why", {"value": 1.0})
    assert d.stop and d.reason == "why" and d.numbers["value"] == 1.0
