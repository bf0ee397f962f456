"""A shortened embedded demo on CPU: real warm start, real GRPO trials, real evaluation."""

from __future__ import annotations

import pytest

from rlvr.models.warm_start import WarmStartRecipe
from studies.analysis import StudyView
from studies.config import load_study_config
from studies.demo import DemoSettings, prepare_demo
from studies.driver import ledger_of, open_study, run_study
from studies.report import render_report
from studies.trials import TrialStatus, latest_attempts

pytestmark = pytest.mark.slow


def test_short_demo_runs_end_to_end(tmp_path):
    settings = DemoSettings(max_trials=3, max_steps=2, limit=4, parallelism=2,
                            warm_start=WarmStartRecipe(steps=3, warmup_steps=1,
                                                                records_per_domain=16))
    path = prepare_demo(tmp_path, settings)
    config = load_study_config(path)
    outcome = run_study(config, poll_interval_s=0.5)
    latest = latest_attempts(outcome.trials)
    assert [r.status for r in latest] == [TrialStatus.COMPLETED] * 3, [r.reason for r in latest]
    ledger = ledger_of(config)
    for record in latest:
        run = ledger.client.get_run(record.run_id)
        assert {"out_score", "objective", "synth_ood_count"} <= set(run.data.metrics)
        assert "train/loss" in run.data.metrics or any(
            k.startswith("train") or k.startswith("reward") for k in run.data.metrics)
    rec = outcome.recommendation
    assert rec is not None
    assert set(rec.mixture) == set(config.domain_names)
    assert abs(sum(rec.mixture.values()) - 1) < 1e-6 and min(rec.mixture.values()) >= 0
    view: StudyView = open_study(str(path)).view
    page = render_report(view, tmp_path / "report.html").read_text()
    assert 'id="plot-objective"' in page and 'id="table-trials"' in page


def test_the_demo_copies_the_shipped_base_unless_told_to_build_it(tmp_path, monkeypatch):
    from rlvr.models import warm_start

    class Built(Exception):
        pass

    def build(*args, **kwargs):
        raise Built

    monkeypatch.setattr(warm_start, "build_warm_started", build)
    config = load_study_config(prepare_demo(tmp_path / "shipped"))  # copied: no build
    shipped = warm_start.warm_start_folder(warm_start.PREBUILT_DIR, seed=0,
                                           recipe=WarmStartRecipe())
    model = tmp_path / "shipped" / "models" / shipped.name
    assert config.train.model == str(model.absolute())
    assert (model / "model.safetensors").read_bytes() == \
        (shipped / "model.safetensors").read_bytes()
    with pytest.raises(Built):
        prepare_demo(tmp_path / "built", DemoSettings(build_base=True))


def test_the_demo_builds_its_base_with_the_cores_left_idle(tmp_path, monkeypatch):
    import torch
    from typer.testing import CliRunner

    from studies.cli import app

    seen = []

    def stop_here(out, settings, on_base_step=None):
        seen.append(torch.get_num_threads())
        raise SystemExit(3)

    monkeypatch.setattr("studies.demo.prepare_demo", stop_here)
    monkeypatch.setattr("mixopt.threads.idle_cores", lambda: 1)
    before = torch.get_num_threads()
    for argv in (["demo", "--out", str(tmp_path)],
                 ["demo", "--out", str(tmp_path), "--base-threads", "2"]):
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 3, result.output
    assert seen == [1, 2] and torch.get_num_threads() == before
