"""The lmms-eval adapter against a results file a real lmms-eval run wrote, and user tasks.

``assets/lmms_eval_real_cpu`` holds the results file of a real lmms-eval 0.7.3 run on CPU
(``qwen2_vl``, the warm-started demo Qwen2-VL, the local task ``mixopt_synth_chart`` that
``scripts/lmms_local_task.py`` writes, 20 records; docs/EVALUATION.md has the command).
"""

import importlib.util
import json
from pathlib import Path

import pytest
from datasets import load_dataset

from evaluators.errors import UnknownBenchmarkError
from evaluators.lmms import (
    LMMS_BENCHMARKS,
    build_command,
    find_results_file,
    is_lmms_benchmark,
    parse_lmms_task,
    parse_results,
    resolve_lmms_benchmarks,
)

REAL = Path(__file__).parent / "assets" / "lmms_eval_real_cpu"
REAL_FILE = REAL / "evalcheck__model" / "20261129_082502_results.json"
SCRIPT = Path(__file__).parents[2] / "scripts" / "lmms_local_task.py"
TASK = parse_lmms_task("mixopt_synth_chart:accuracy")


def test_the_real_file_is_where_the_adapter_looks():
    # <output_path>/<sanitized model>/<date>_results.json
    assert find_results_file(REAL) == REAL_FILE


def test_parsing_the_real_results_file():
    score = parse_results(REAL_FILE, [TASK])["mixopt_synth_chart"]
    assert (score.metric, score.score, score.n, score.kind) == (
        "accuracy", 0.1, 20, "out_of_domain")
    assert score.stderr == pytest.approx(0.06882472016116853)


def test_the_real_file_has_the_keys_the_reference_parser_reads():
    data = json.loads(REAL_FILE.read_text(encoding="utf-8"))
    task = data["results"]["mixopt_synth_chart"]
    assert {"accuracy,none", "accuracy_stderr,none"} <= set(task)
    assert task["accuracy_stderr_clustered,none"] == "N/A"  # newer extra stderr keys are ignored
    assert data["n-samples"]["mixopt_synth_chart"] == {"original": 20, "effective": 20}


def test_user_tasks():
    assert (TASK.name, TASK.task, TASK.metrics, TASK.size) == (
        "mixopt_synth_chart", "mixopt_synth_chart", ("accuracy",), None)
    for bad in ("mixopt_synth_chart", "a:", ":m", "a b:m", "a:m,n"):
        with pytest.raises(UnknownBenchmarkError, match="TASK:METRIC"):
            parse_lmms_task(bad)
    assert is_lmms_benchmark("mixopt_synth_chart", [TASK])
    assert not is_lmms_benchmark("mixopt_synth_chart")
    got = resolve_lmms_benchmarks(["chartqa", "mixopt_synth_chart"], [TASK])
    assert got == (LMMS_BENCHMARKS["chartqa"], TASK)
    with pytest.raises(UnknownBenchmarkError, match="known: chartqa"):
        resolve_lmms_benchmarks(["mixopt_synth_chart"])


def test_the_include_path_is_passed(tmp_path):
    argv = build_command("ckpt", [TASK.task], output_path=tmp_path, include_path=tmp_path / "t")
    assert argv[-2:] == ["--include_path", str(tmp_path / "t")]
    assert "--include_path" not in build_command("ckpt", ["chartqa"], output_path=tmp_path)


def test_the_local_task_script_writes_a_loadable_task(tmp_path):
    spec = importlib.util.spec_from_file_location("lmms_local_task", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.write_task(tmp_path, "synth_chart", limit=3) == "mixopt_synth_chart"
    yaml_text = (tmp_path / "mixopt_synth_chart.yaml").read_text(encoding="utf-8")
    assert "dataset_path: parquet" in yaml_text and "utils.process_results" in yaml_text
    rows = load_dataset(
        "parquet", data_files={"test": str(tmp_path / "synth_chart_test.parquet")},
        cache_dir=str(tmp_path / "cache"),
    )["test"]
    assert len(rows) == 3 and rows[0]["image"].size == (112, 112)
    assert rows[0]["solution"].startswith("<answer>") and "<answer>" in rows[0]["prompt"]
    namespace: dict = {}
    exec((tmp_path / "utils.py").read_text(encoding="utf-8"), namespace)
    right = namespace["process_results"](rows[0], [rows[0]["solution"]])
    assert right == {"accuracy": 1.0}
    assert namespace["process_results"](rows[0], ["no answer"]) == {"accuracy": 0.0}
