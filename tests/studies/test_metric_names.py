"""One name per score: what `mixopt eval` logs at a checkpoint is what the trial's run keeps."""

from __future__ import annotations

from evaluators import BenchmarkScore, EvalResult, log_eval_result
from studies.config import load_study_config
from studies.driver import ledger_of
from tests.studies.study_files import function_study


def _trial(tmp_path):
    ledger = ledger_of(load_study_config(function_study(tmp_path)))
    parent = ledger.study_run()
    record = ledger.create_trial(parent, index=0, attempt=0, weights={"alpha": 1.0, "beta": 0.0,
                                 "gamma": 0.0}, seed=0, source="design")
    return ledger, record.run_id


def test_a_checkpoint_eval_and_the_trial_outcome_share_names_and_one_curve(tmp_path):
    ledger, run_id = _trial(tmp_path)
    result = EvalResult(checkpoint="final", step=12,
                        benchmarks={"sat": BenchmarkScore(metric="accuracy", score=0.5, n=4)},
                        objectives={"out_score": 0.5})
    log_eval_result(ledger.client, run_id, result)
    # the trial process's outcome.json carries the same scores under the same names
    ledger.mark_completed(run_id, {"sat": 0.5, "out_score": 0.5}, 0.5)
    metrics = ledger.client.get_run(run_id).data.metrics
    assert metrics["out_score"] == 0.5 and metrics["sat"] == 0.5 and metrics["objective"] == 0.5
    assert not [k for k in metrics if k.startswith("eval.")]
    history = ledger.client.get_metric_history(run_id, "out_score")
    assert [(m.step, m.value) for m in history] == [(12, 0.5)]  # no second point at step 0


def test_an_outcome_that_differs_from_the_logged_eval_is_logged(tmp_path):
    ledger, run_id = _trial(tmp_path)
    ledger.mark_completed(run_id, {"out_score": 0.25}, 0.25)
    history = ledger.client.get_metric_history(run_id, "out_score")
    assert [(m.step, m.value) for m in history] == [(0, 0.25)]
