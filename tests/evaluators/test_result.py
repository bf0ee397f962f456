"""`EvalResult` and the per-sample JSONL: schema, atomic writes, round trips, bad files."""

import json

import pytest
from pydantic import ValidationError

from evaluators import (
    BenchmarkScore,
    EvalResult,
    ResultFileError,
    SampleOutput,
    read_result,
    read_samples,
    samples_path_for,
    write_result,
    write_samples,
)


def a_result(**fields):
    data = {
        "checkpoint": "/runs/a/checkpoint-40",
        "step": 40,
        "benchmarks": {
            "sat": BenchmarkScore(metric="accuracy", score=0.5, n=8, stderr=0.177, format_rate=1.0),
            "chartqa": BenchmarkScore(metric="relaxed_overall", score=0.3, n=10,
                                      kind="out_of_domain"),
        },
        "objectives": {"in_score": 0.5, "out_score": 0.3},
        "settings": {"max_new_tokens": 8},
    }
    data.update(fields)
    return EvalResult(**data)


def test_round_trip_is_exact_and_leaves_no_temporary_file(tmp_path):
    path = write_result(a_result(), tmp_path / "sub" / "eval.json")
    assert read_result(path) == a_result()
    assert json.loads(path.read_text())["schema_version"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["eval.json"]


def test_schema_refuses_unknown_fields_and_bad_values():
    with pytest.raises(ValidationError):
        a_result(extra=1)
    with pytest.raises(ValidationError) as caught:
        BenchmarkScore(metric="accuracy", score=float("nan"), n=0, stderr=-1.0)
    assert {e["loc"][0] for e in caught.value.errors()} == {"score", "n", "stderr"}


@pytest.mark.parametrize(
    ("content", "message"),
    [("not json", "not a JSON"), ('{"schema_version": 2}', "schema_version 2, expected 1"),
     ('{"schema_version": 1, "checkpoint": ""}', "invalid evaluation result")],
)
def test_bad_result_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "eval.json"
    path.write_text(content)
    with pytest.raises(ResultFileError, match=message) as caught:
        read_result(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(ResultFileError, match="no such"):
        read_result(tmp_path / "missing.json")


def test_samples_round_trip_beside_the_result(tmp_path):
    samples = [
        SampleOutput(benchmark="sat", prompt_id="sat/3", sample=0, completion="<answer>B</answer>",
                     answer="B", parsed="B", score=1.0, follows_format=False),
        SampleOutput(benchmark="lisa", prompt_id="lisa/0", sample=1, completion="é",
                     answer=None, parsed=[1.0, 2.0, 3.0, 4.0], score=0.25, follows_format=True),
    ]
    path = samples_path_for(tmp_path / "eval.json")
    assert path == tmp_path / "eval.samples.jsonl"
    write_samples(samples, path)
    assert read_samples(path) == samples
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
