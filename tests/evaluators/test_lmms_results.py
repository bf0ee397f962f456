"""The lmms-eval adapter: finding and reading a results file of lmms-eval's real layout."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from evaluators.lmms import (
    LmmsEvalRunError,
    LmmsResultsError,
    find_results_file,
    parse_results,
)
from evaluators.objectives import out_score

OUTPUT = Path(__file__).parent / "assets" / "lmms_eval_output"
FIXTURE = OUTPUT / "ckpt__checkpoint-400" / "20250611_101512_results.json"
ALL = ["chartqa", "infovqa", "mathvista", "mmmu"]


def test_the_fixture_is_found_under_the_model_folder():
    assert find_results_file(OUTPUT) == FIXTURE


def test_parsing_the_fixture():
    scores = parse_results(FIXTURE, ALL)
    assert list(scores) == ALL
    chartqa = scores["chartqa"]
    assert (chartqa.metric, chartqa.score, chartqa.n, chartqa.kind) == (
        "relaxed_overall", 0.625, 8, "out_of_domain")
    assert chartqa.stderr == pytest.approx(0.18298126367185257)
    assert scores["infovqa"].metric == "anls" and scores["infovqa"].stderr is not None
    assert scores["mathvista"].score == pytest.approx(0.375)  # reported in percent
    assert scores["mathvista"].stderr is None  # "N/A"
    assert (scores["mmmu"].score, scores["mmmu"].stderr) == (0.25, None)
    assert out_score(scores) == pytest.approx((0.625 + 0.4583333333333333 + 0.375 + 0.25) / 4)


def _edited(tmp_path, edit):
    data = json.loads(FIXTURE.read_text())
    edit(data)
    path = tmp_path / "x_results.json"
    path.write_text(json.dumps(data))
    return path


def test_a_task_missing_from_the_results_is_an_error(tmp_path):
    path = _edited(tmp_path, lambda d: d["results"].pop("mmmu_val"))
    with pytest.raises(LmmsResultsError, match=r"'mmmu_val' \(mmmu\) missing"):
        parse_results(path, ALL)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["results"]["mathvista_testmini"].update({"gpt_eval_score,none": None}),
         "not a score"),
        (lambda d: d["results"]["chartqa"].pop("relaxed_overall,none"), "none of the metrics"),
        (lambda d: d["n-samples"].pop("chartqa"), "n-samples.chartqa.effective"),
        (lambda d: d.pop("results"), "no `results`"),
    ],
)
def test_unusable_results_are_errors_not_zeros(tmp_path, edit, message):
    with pytest.raises(LmmsResultsError, match=message):
        parse_results(_edited(tmp_path, edit), ALL)


def test_the_renamed_mathvista_metric_in_fractions(tmp_path):
    def rename(d):
        d["results"]["mathvista_testmini"] = {
            "alias": "mathvista_testmini", "llm_as_judge_eval,none": 0.4,
            "llm_as_judge_eval_stderr,none": "N/A"}
    score = parse_results(_edited(tmp_path, rename), ["mathvista"])["mathvista"]
    assert (score.metric, score.score) == ("llm_as_judge_eval", 0.4)


def test_not_json_is_an_error(tmp_path):
    path = tmp_path / "bad_results.json"
    path.write_text("{")
    with pytest.raises(LmmsResultsError, match="not a readable"):
        parse_results(path, ["chartqa"])


def test_no_results_file_or_only_an_old_one_is_an_error(tmp_path):
    with pytest.raises(LmmsEvalRunError, match="no lmms-eval results file"):
        find_results_file(tmp_path)
    old = tmp_path / "m" / FIXTURE.name
    old.parent.mkdir()
    shutil.copy(FIXTURE, old)
    os.utime(old, (time.time() - 100, time.time() - 100))
    with pytest.raises(LmmsEvalRunError):
        find_results_file(tmp_path, newer_than=time.time() - 10)
