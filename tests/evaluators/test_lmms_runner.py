"""The lmms-eval adapter end to end with a stand-in lmms-eval, the not-installed path and the
MathVista extraction check."""

import importlib.util
import sys
from pathlib import Path

import pytest

from evaluators.lmms import (
    INSTALL_HINT,
    LmmsEvalNotInstalledError,
    LmmsEvalRunError,
    LmmsResultsError,
    MathVistaExtractionError,
    check_extraction,
    evaluate_lmms,
    installed_extraction,
    lmms_eval_location,
)

FAKE = [sys.executable, str(Path(__file__).parent / "lmms_standins" / "fake_lmms_eval.py")]
ALL = ["chartqa", "infovqa", "mathvista", "mmmu"]


def run(tmp_path, mode="ok", names=ALL, **kwargs):
    return evaluate_lmms(
        "/ckpt/checkpoint-400", names, output_path=tmp_path / "lmms", launcher=FAKE,
        extra_env={"FAKE_LMMS_MODE": mode}, timeout_s=60, **kwargs)


def test_run_find_and_parse_end_to_end(tmp_path):
    scores = run(tmp_path, limit=5)
    assert list(scores) == ALL
    assert {s.n for s in scores.values()} == {5}
    assert scores["mathvista"].score == pytest.approx(0.375)
    written = list((tmp_path / "lmms").rglob("*_results.json"))
    assert [p.parent.name for p in written] == ["ckpt__checkpoint-400"]
    assert (tmp_path / "lmms" / "lmms_eval.stdout.log").exists()


def test_a_failing_run_is_an_error_with_its_stderr_tail(tmp_path):
    with pytest.raises(LmmsEvalRunError, match=r"exited with code 1.*CUDA out of memory"):
        run(tmp_path, "fail")


def test_exit_0_without_a_results_file_is_an_error(tmp_path):
    with pytest.raises(LmmsEvalRunError, match=r"exited 0 but wrote no results.*Tasks not found"):
        run(tmp_path, "silent")


def test_a_task_left_out_of_the_results_is_an_error(tmp_path):
    with pytest.raises(LmmsResultsError, match="'mmmu_val' \\(mmmu\\) missing"):
        run(tmp_path, "drop:mmmu_val")


def test_a_timeout_is_an_error(tmp_path):
    with pytest.raises(LmmsEvalRunError, match="ran past"):
        evaluate_lmms("ckpt", ["chartqa"], output_path=tmp_path,
                      launcher=[sys.executable, "-c", "import time; time.sleep(30)"],
                      timeout_s=1)


def test_not_installed_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(LmmsEvalNotInstalledError) as caught:
        evaluate_lmms("ckpt", ["chartqa"], output_path=tmp_path)
    message = str(caught.value)
    assert message == INSTALL_HINT and "\n" not in message
    assert "pip install 'mixopt[eval]' 'torch==2.13.0' 'math-verify>=0.8'" in message
    assert "torchvision" in message
    assert not list(tmp_path.iterdir())  # nothing ran


def test_lmms_eval_is_not_installed_in_this_venv():
    with pytest.raises(LmmsEvalNotInstalledError):
        lmms_eval_location()


RULE = '''
def mathvista_process_results(doc, results):
    prediction = extract_final_answer(results[0].strip())
    evaluator = get_mathvista_evaluator()
    # extraction = evaluator.extract_answer(prediction, problem, quick)
    prediction = normalize_extracted_answer_with_math_verify(prediction, [], "", "", 0)
    return {"llm_as_judge_eval": prediction}


def mathvista_process_results_judge(doc, results):
    extraction = evaluator.extract_answer(prediction, problem, quick_extract=False)
'''
JUDGE = '''
def mathvista_process_results(doc, results):
    prediction = results[0].strip()
    extraction = mathvista_evaluator.extract_answer(prediction, problem, quick)
    return {"gpt_eval_score": extraction}
'''


def lmms_root(tmp_path, source):
    utils = tmp_path / "lmms_eval" / "tasks" / "mathvista" / "utils.py"
    utils.parent.mkdir(parents=True)
    utils.write_text(source)
    return tmp_path / "lmms_eval"


@pytest.mark.parametrize(("source", "mode"), [(RULE, "rule"), (JUDGE, "judge"), ("x = 1", None)])
def test_the_installed_extraction_is_read_from_its_source(tmp_path, source, mode):
    assert installed_extraction(lmms_root(tmp_path, source)) == mode


def test_rule_extraction_is_checked_before_running(tmp_path):
    check_extraction("rule", lmms_root(tmp_path / "a", RULE))
    with pytest.raises(MathVistaExtractionError, match="GPT judge"):
        check_extraction("rule", lmms_root(tmp_path / "b", JUDGE))
    with pytest.raises(MathVistaExtractionError, match="no judge mode"):
        check_extraction("judge", tmp_path / "a" / "lmms_eval")
    with pytest.raises(MathVistaExtractionError, match="cannot tell"):
        check_extraction("rule", tmp_path / "nowhere")
    with pytest.raises(MathVistaExtractionError, match="unknown"):
        check_extraction("gpt", tmp_path / "a" / "lmms_eval")
