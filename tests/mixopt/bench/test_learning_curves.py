"""Learning-curve oracles: the promised shape, crossing curves, noise per checkpoint, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from mixopt import simplex
from mixopt.bench.learning_curves import (
    LEARNING_CURVE_FAMILIES,
    make_learning_curves,
    progress,
)
from mixopt.bench.oracles import make_oracle
from mixopt.errors import MixoptError


def _points(oracle, n=200, seed=0):
    return simplex.sample(n, oracle.space, np.random.default_rng(seed))


def test_progress_runs_from_zero_to_one_and_fast_rates_plateau_early():
    t = np.array([1e-9, 0.25, 0.5, 1.0])
    slow, fast = progress(t, 1.5), progress(t, 12.0)
    assert slow[0] == pytest.approx(0.0, abs=1e-8) and slow[-1] == pytest.approx(1.0)
    assert np.all(np.diff(slow) > 0) and np.all(np.diff(fast) > 0)
    assert fast[1] > 0.9 > 0.5 > slow[1]


@pytest.mark.parametrize("family", LEARNING_CURVE_FAMILIES)
def test_full_budget_is_the_builtin_surface_and_curves_rise(family):
    curves = make_learning_curves(family, seed=1)
    X = _points(curves)
    assert np.allclose(curves.value(X, 1.0), make_oracle(family, seed=1).value(X))
    values = np.stack([curves.value(X, t) for t in (0.1, 0.25, 0.5, 1.0)])
    assert np.all(np.diff(values, axis=0) > 0)  # every mixture keeps learning
    assert np.all(values[0] > curves.start)


@pytest.mark.parametrize("family", LEARNING_CURVE_FAMILIES)
def test_some_curves_cross(family):
    # A mixture ahead at a quarter of the budget ends behind another: the fast learner
    # plateaus lower. (Not all pairs: early ranks still carry information.)
    curves = make_learning_curves(family, seed=0)
    X = _points(curves)
    early, final = curves.value(X, 0.25), curves.value(X, 1.0)
    i, j = np.triu_indices(len(X), 1)
    swapped = np.sign(early[i] - early[j]) != np.sign(final[i] - final[j])
    assert 0.05 < swapped.mean() < 0.9
    k = np.flatnonzero(swapped)[0]
    a, b = (i[k], j[k]) if early[i[k]] > early[j[k]] else (j[k], i[k])
    assert curves.rate(X[[a]])[0] > curves.rate(X[[b]])[0]  # the early leader learns faster


def test_noise_is_drawn_per_checkpoint_with_the_stated_sd():
    curves = make_learning_curves("quadratic", seed=2, noise_sd=0.01, run_share=0.5)
    x = _points(curves, n=1)[0]
    fractions = (0.25, 0.5, 1.0)
    clean = curves.value(np.repeat(x[None], 3, axis=0), np.array(fractions))
    rng = np.random.default_rng(0)
    errors = np.stack([curves.observe_run(x, fractions, rng) - clean for _ in range(4000)])
    assert np.allclose(errors.std(axis=0), 0.01, rtol=0.06)
    # Not one offset per run: the checkpoints of a run differ by their own noise ...
    assert np.std(errors[:, 2] - errors[:, 0]) == pytest.approx(0.01, rel=0.06)
    # ... and the run offset makes them correlate by run_share.
    assert np.corrcoef(errors[:, 0], errors[:, 2])[0, 1] == pytest.approx(0.5, abs=0.05)


def test_seeded_and_deterministic():
    a, b = make_learning_curves("sharp", seed=3), make_learning_curves("sharp", seed=3)
    other = make_learning_curves("sharp", seed=4)
    X = _points(a)
    assert np.array_equal(a.value(X, 0.25), b.value(X, 0.25))
    assert not np.allclose(a.value(X, 0.25), other.value(X, 0.25))
    runs = [c.observe_run(X[0], (0.25, 1.0), np.random.default_rng(5)) for c in (a, b)]
    assert np.array_equal(*runs)


def test_regret_is_zero_at_the_optimum_and_one_at_the_minimum():
    curves = make_learning_curves("sparse", seed=0)
    assert curves.regret(curves.final.argmax) == pytest.approx(0.0, abs=1e-9)
    assert curves.regret(curves.final.extremes.argmin) == pytest.approx(1.0, abs=1e-9)


def test_bad_arguments_are_named():
    with pytest.raises(MixoptError, match="unknown learning-curve family 'wavy'"):
        make_learning_curves("wavy", seed=0)
    with pytest.raises(MixoptError, match=r"tradeoff must lie in .* run_share must lie"):
        make_learning_curves("quadratic", seed=0, tradeoff=2.0, run_share=-1)
    curves = make_learning_curves("quadratic", seed=0)
    with pytest.raises(MixoptError, match=r"fractions must lie in \(0, 1\]"):
        curves.value(curves.final.argmax, 1.5)
    with pytest.raises(MixoptError, match="must increase"):
        curves.observe_run(curves.final.argmax, (0.5, 0.25), np.random.default_rng(0))


def test_oracle_rule_stops_iff_the_true_final_value_is_below_the_best_completed_ones():
    from mixopt.bench.learning_curves import OracleStopRule
    from mixopt.early_stopping import TrialCurve

    curves = make_learning_curves("quadratic", seed=3)
    X = _points(curves, n=50)
    F = curves.final.value(X)
    order = np.argsort(F)
    low, mid, high, top = (X[order[i]] for i in (0, 20, 40, 49))
    rule = OracleStopRule(curves)

    def running(x, value):  # at 0.25, with a value that says nothing of its final one
        return TrialCurve(x, (0.25,), (value,))

    def done(x):
        return TrialCurve(x, (0.25, 1.0), (0.0, 0.0), completed=True)

    # Nothing completed: no incumbent, no stop (even of the worst mixture).
    assert not rule.decide(running(low, 0.0), []).stop
    assert not rule.decide(running(low, 0.0), [running(top, 1.0)]).stop
    # The incumbent is the completed trial of best true final value (not the last one).
    others = [done(mid), done(high), done(low), running(top, 0.0)]
    stopped = rule.decide(running(mid, 10.0), others)  # a misleadingly high early value
    assert stopped.stop and stopped.rule == "oracle"
    assert stopped.numbers["incumbent"] == pytest.approx(F[order[40]])
    assert stopped.numbers["final"] == pytest.approx(F[order[20]])
    assert not rule.decide(running(top, -10.0), others).stop  # a misleadingly low one
    # Equal to the incumbent is not below it; a trial at its full budget is never stopped.
    assert not rule.decide(running(high, 0.0), others).stop
    assert not rule.decide(TrialCurve(low, (0.25, 1.0), (0.0, 0.0)), others).stop
    assert rule.decide(TrialCurve(low, (0.25, 0.5), (0.0, 0.0)), others).stop
