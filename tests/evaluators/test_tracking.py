"""Eval metrics land on an explicit MLflow run (sqlite store in a temporary folder)."""

import pytest
from mlflow.tracking import MlflowClient

from evaluators import BenchmarkScore, EvalResult, eval_metrics, log_eval_result


def test_metrics_are_logged_at_the_checkpoint_step(mlflow_uri):
    result = EvalResult(
        checkpoint="run/checkpoint-5", step=5,
        benchmarks={"sat": BenchmarkScore(metric="accuracy", score=0.25, n=4, stderr=0.2165,
                                          format_rate=0.5)},
        objectives={"in_score": 0.25},
    )
    assert eval_metrics(result) == {
        "sat": 0.25, "sat.stderr": 0.2165, "sat.n": 4.0,
        "sat.n_skipped": 0.0, "sat.format_rate": 0.5, "in_score": 0.25}
    client = MlflowClient(tracking_uri=mlflow_uri)
    run_id = client.create_run(client.create_experiment("eval-tracking")).info.run_id
    log_eval_result(client, run_id, result)
    logged = client.get_run(run_id).data.metrics
    assert logged == pytest.approx(eval_metrics(result))
    history = client.get_metric_history(run_id, "in_score")
    assert [(m.step, m.value) for m in history] == [(5, 0.25)]
