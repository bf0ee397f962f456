"""`mixopt eval` routes out-of-domain names to the lmms-eval adapter."""

import importlib.util

import pytest

from evaluators.lmms import INSTALL_HINT
from studies.cli import main
from studies.cli.eval import parse_model_args, split_benchmarks


def run_main(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    captured = capsys.readouterr()
    return caught.value.code, captured.out, captured.err.strip()


def test_out_of_domain_names_are_split_off():
    names = ["lisa", "chartqa", "sat", "mathvista", "mmmu", "infovqa"]
    assert split_benchmarks(names, ("lisa", "sat", "scienceqa")) == (
        ["lisa", "sat"], ["chartqa", "mathvista", "mmmu", "infovqa"])
    assert split_benchmarks(["chartqa"], ("chartqa",)) == (["chartqa"], [])  # a user domain


def test_model_args_text():
    assert parse_model_args("max_pixels=602112, device=cpu") == {
        "max_pixels": "602112", "device": "cpu"}
    assert parse_model_args(None) == {}


def test_without_lmms_eval_an_out_of_domain_name_ends_in_the_install_line(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    out = tmp_path / "eval.json"
    code, _, err = run_main(
        ["eval", "--checkpoint", str(tmp_path / "missing"), "--benchmarks", "lisa,chartqa",
         "--out", str(out)], capsys)
    assert code == 2
    assert INSTALL_HINT in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_bad_mathvista_extraction_is_refused(tmp_path, capsys):
    code, _, err = run_main(
        ["eval", "--checkpoint", str(tmp_path), "--benchmarks", "mathvista",
         "--mathvista-extraction", "gpt"], capsys)
    assert code == 2 and "--mathvista-extraction" in err


def test_out_of_domain_only_eval_writes_the_result(tmp_path, capsys, monkeypatch):
    import functools

    import evaluators.lmms as lmms
    from evaluators import read_result
    from tests.evaluators.test_lmms_runner import FAKE

    # the CLI imports these when the command runs (not at start): patch them at their source
    monkeypatch.setattr(lmms, "lmms_eval_location", lambda: tmp_path)
    monkeypatch.setattr(lmms, "evaluate_lmms", functools.partial(lmms.evaluate_lmms, launcher=FAKE))
    out = tmp_path / "eval.json"
    checkpoint = tmp_path / "checkpoint-400"
    code, stdout, err = run_main(
        ["eval", "--checkpoint", str(checkpoint), "--benchmarks", "mmmu,chartqa",
         "--limit", "3", "--out", str(out)], capsys)
    assert code in (0, None), err
    result = read_result(out)
    assert list(result.benchmarks) == ["mmmu", "chartqa"]
    assert result.step == 400 and result.benchmarks["chartqa"].n == 3
    assert result.objectives == {"out_score": pytest.approx((0.25 + 0.625) / 2)}
    assert result.settings["lmms_model"] == "qwen2_vl"
    assert (tmp_path / "eval.lmms" / "lmms_eval.stderr.log").exists()
    assert "chartqa" in stdout


def test_in_and_out_of_domain_in_one_result(tmp_path, capsys, monkeypatch, tiny_model):
    import functools

    import evaluators.lmms as lmms
    from evaluators import read_result
    from tests.evaluators.conftest import MC, write_eval_domains
    from tests.evaluators.test_lmms_runner import FAKE

    domains = write_eval_domains(tmp_path / "domains")
    monkeypatch.setattr(lmms, "lmms_eval_location", lambda: tmp_path)
    monkeypatch.setattr(lmms, "evaluate_lmms", functools.partial(lmms.evaluate_lmms, launcher=FAKE))
    out = tmp_path / "eval.json"
    code, _, err = run_main(
        ["eval", "--checkpoint", str(tiny_model), "--benchmarks", f"chartqa,{MC}",
         "--limit", "2", "--max-new-tokens", "4", "--domain-file", str(domains),
         "--out", str(out)], capsys)
    assert code in (0, None), err
    result = read_result(out)
    assert list(result.benchmarks) == ["chartqa", MC]
    assert [b.kind for b in result.benchmarks.values()] == ["out_of_domain", "in_domain"]
    assert set(result.objectives) == {"in_score", "out_score"}
    assert result.objectives["out_score"] == pytest.approx(0.625)


def test_a_user_lmms_task_is_routed_to_lmms_eval():
    from evaluators.lmms import parse_lmms_task

    tasks = (parse_lmms_task("mixopt_synth_chart:accuracy"),)
    assert split_benchmarks(["synth_chart", "mixopt_synth_chart"], ("synth_chart",), tasks) == (
        ["synth_chart"], ["mixopt_synth_chart"])
    # without --lmms-task the same name is neither a domain nor lmms-eval's: left in-domain,
    # where the evaluator refuses it by name
    assert split_benchmarks(["mixopt_synth_chart"], ("synth_chart",)) == (
        ["mixopt_synth_chart"], [])


def test_a_malformed_lmms_task_is_one_line(tmp_path, capsys):
    code, _, err = run_main(
        ["eval", "--checkpoint", str(tmp_path), "--benchmarks", "mytask",
         "--lmms-task", "mytask"], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "TASK:METRIC" in err
