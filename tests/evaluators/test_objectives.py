"""In-Score / Out-Score and the across-checkpoint modes, against values worked out by hand."""

import pytest

from evaluators import (
    BenchmarkScore,
    EvalResult,
    ObjectiveError,
    across_checkpoints,
    in_score,
    objectives_of,
    out_score,
    weighted_score,
)


def score(value, n, kind="in_domain"):
    return BenchmarkScore(metric="accuracy", score=value, n=n, kind=kind)


SCORES = {
    "lisa": score(0.4, 100),
    "sat": score(0.7, 300),
    "scienceqa": score(0.9, 100),
    "chartqa": score(0.2, 250, "out_of_domain"),
    "mmmu": score(0.5, 750, "out_of_domain"),
}


def test_scores_are_weighted_by_test_set_size():
    # (0.4*100 + 0.7*300 + 0.9*100) / 500 = 340 / 500
    assert in_score(SCORES) == pytest.approx(0.68)
    # (0.2*250 + 0.5*750) / 1000 = 425 / 1000
    assert out_score(SCORES) == pytest.approx(0.425)
    assert objectives_of(SCORES) == pytest.approx({"in_score": 0.68, "out_score": 0.425})
    assert objectives_of({"sat": SCORES["sat"]}) == {"in_score": 0.7}


def test_custom_weights_replace_the_sizes_and_leave_out_unnamed_benchmarks():
    assert in_score(SCORES, {"lisa": 1, "sat": 1, "scienceqa": 2}) == pytest.approx(2.9 / 4)
    assert in_score(SCORES, {"lisa": 3.0, "sat": 0.0}) == pytest.approx(0.4)
    assert weighted_score(SCORES, {"lisa": 1, "mmmu": 1}) == pytest.approx(0.45)


@pytest.mark.parametrize(
    ("weights", "message"),
    [({"coco": 1.0}, "not scored"), ({"lisa": -1.0}, "finite and >= 0"),
     ({"lisa": float("inf")}, "finite"), ({"lisa": 0.0}, "all zero"),
     ({"chartqa": 1.0}, "not scored")],  # an out-of-domain name in the In-Score
)
def test_bad_weights_are_errors(weights, message):
    with pytest.raises(ObjectiveError, match=message):
        in_score(SCORES, weights)


def test_no_benchmark_of_a_kind_is_an_error():
    with pytest.raises(ObjectiveError, match="no out-of-domain benchmark"):
        out_score({"sat": SCORES["sat"]})


def result(step, value):
    return EvalResult(checkpoint=f"run/checkpoint-{step}", step=step,
                      benchmarks={"sat": score(value, 10)}, objectives={"in_score": value})


def test_last_and_step_mean_across_checkpoints():
    results = [result(200, 0.6), result(100, 0.2), result(300, 0.4)]
    assert across_checkpoints(results, "in_score", "last") == pytest.approx(0.4)
    assert across_checkpoints(results, "in_score", "step_mean") == pytest.approx(0.4)
    assert across_checkpoints(results[:2], "in_score", "step_mean") == pytest.approx(0.4)
    assert across_checkpoints(results[:2], "in_score", "last") == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("results", "objective", "mode", "message"),
    [([], "in_score", "last", "no evaluation results"),
     ([result(1, 0.1)], "out_score", "last", "missing from"),
     ([result(1, 0.1), result(1, 0.2)], "in_score", "last", "distinct known steps"),
     ([result(1, 0.1)], "in_score", "median", "unknown mode")],
)
def test_across_checkpoints_errors(results, objective, mode, message):
    with pytest.raises(ObjectiveError, match=message):
        across_checkpoints(results, objective, mode)
