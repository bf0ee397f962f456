"""The lmms-eval adapter: registry and command construction."""

import sys

import pytest

from evaluators.errors import EvaluationError, UnknownBenchmarkError
from evaluators.lmms import (
    LMMS_BENCHMARKS,
    build_command,
    format_model_args,
    resolve_lmms_benchmarks,
)

REFERENCE = ["chartqa", "infovqa", "mathvista", "mmmu"]


def test_the_reference_benchmarks_map_to_lmms_eval_tasks_and_metrics():
    got = {b.name: (b.task, b.metric) for b in resolve_lmms_benchmarks(REFERENCE)}
    assert got == {
        "chartqa": ("chartqa", "relaxed_overall"),
        "infovqa": ("infovqa_val", "anls"),
        "mathvista": ("mathvista_testmini", "gpt_eval_score"),
        "mmmu": ("mmmu_val", "mmmu_acc"),
    }
    assert LMMS_BENCHMARKS["mathvista"].metrics == ("gpt_eval_score", "llm_as_judge_eval")


@pytest.mark.parametrize(
    ("names", "message"),
    [([], "no out-of-domain"), (["chartqa", "chartqa"], "twice"), (["docvqa"], "unknown")],
)
def test_bad_names_are_refused(names, message):
    with pytest.raises(UnknownBenchmarkError, match=message):
        resolve_lmms_benchmarks(names)


def test_command_for_the_reference_tasks():
    tasks = [b.task for b in resolve_lmms_benchmarks(REFERENCE)]
    argv = build_command(
        "/runs/t3/checkpoint-400", tasks, output_path="/runs/t3/eval.lmms", limit=50,
        batch_size=4, model_args={"max_pixels": 602112, "use_flash_attention_2": True},
        log_samples=True,
    )
    assert argv == [
        sys.executable, "-m", "lmms_eval",
        "--model", "qwen2_vl",
        "--model_args",
        "pretrained=/runs/t3/checkpoint-400,max_pixels=602112,use_flash_attention_2=True",
        "--tasks", "chartqa,infovqa_val,mathvista_testmini,mmmu_val",
        "--batch_size", "4",
        "--output_path", "/runs/t3/eval.lmms",
        "--limit", "50",
        "--log_samples",
    ]


def test_command_defaults_and_launcher():
    argv = build_command("ckpt", ["mmmu_val"], output_path="out", model="qwen2_5_vl",
                         launcher=["python3", "fake.py"])
    assert argv == ["python3", "fake.py", "--model", "qwen2_5_vl", "--model_args",
                    "pretrained=ckpt", "--tasks", "mmmu_val", "--batch_size", "1",
                    "--output_path", "out"]


@pytest.mark.parametrize(
    ("args", "message"),
    [({"system_prompt": "Think, then answer."}, "commas"), ({"pretrained": "x"}, "checkpoint"),
     ({"a=b": 1}, "bad key")],
)
def test_model_args_that_lmms_eval_would_misread_are_refused(args, message):
    with pytest.raises(EvaluationError, match=message):
        format_model_args("ckpt", args)


@pytest.mark.parametrize(("kwargs", "message"),
                         [({"limit": 0}, "limit"), ({"batch_size": 0}, "batch_size")])
def test_bad_limits_are_refused(kwargs, message):
    with pytest.raises(EvaluationError, match=message):
        build_command("ckpt", ["chartqa"], output_path="out", **kwargs)
    with pytest.raises(EvaluationError, match="no lmms-eval task"):
        build_command("ckpt", [], output_path="out")
