"""Config of checkpoint fidelity and early stopping: checked at load, every error at once."""

from __future__ import annotations

import pytest
import yaml

from mixopt.early_stopping import PercentileRule, PredictiveRule
from studies.config import StudyConfigError, load_study_config
from studies.orchestrator import policy_settings
from tests.studies.study_files import function_study, local_study


def _with(path, **search):
    data = yaml.safe_load(path.read_text())
    data["search"].update(search)
    path.write_text(yaml.safe_dump(data))
    return path


def _errors(path) -> list[str]:
    with pytest.raises(StudyConfigError) as info:
        load_study_config(path)
    return list(info.value.lines)


def test_fidelity_and_both_rules_load_into_the_policy_and_the_rule(tmp_path):
    path = _with(function_study(tmp_path), fidelity={"checkpoints": [0.25, 0.5, 1.0]},
                 early_stopping={"rule": "percentile", "percentile": 30, "min_curves": 3,
                                 "min_progression": 0.25})
    config = load_study_config(path)
    assert config.search.fidelity.checkpoints == (0.25, 0.5, 1.0)
    assert policy_settings(config).multi_fidelity == "ar1"
    rule = config.search.early_stopping.build(maximize=False)
    assert rule == PercentileRule(percentile=30, min_progression=0.25, min_curves=3,
                                  maximize=False)
    path = _with(path, fidelity={"checkpoints": [0.5, 1.0], "kernel": "product"},
                 early_stopping={"rule": "predictive", "alpha": 0.1})
    config = load_study_config(path)
    assert policy_settings(config).multi_fidelity == "product"
    assert isinstance(config.search.early_stopping.build(maximize=True), PredictiveRule)


def test_a_study_without_fidelity_has_none_of_it(tmp_path):
    config = load_study_config(function_study(tmp_path))
    assert config.search.fidelity is None and config.search.early_stopping is None
    assert policy_settings(config).multi_fidelity is None


def test_bad_checkpoints_and_rule_options_are_all_reported(tmp_path):
    path = _with(function_study(tmp_path), fidelity={"checkpoints": [0.5, 0.25, 0.9]},
                 early_stopping={"rule": "percentile", "colour": 1, "min_curves": -1})
    lines = _errors(path)
    text = "\n".join(lines)
    assert "search.fidelity.checkpoints" in text and "fractions must increase" in text
    assert "the last checkpoint must be 1.0" in text
    assert "search.early_stopping.colour" in text
    assert "search.early_stopping.min_curves" in text
    assert len(lines) >= 3


@pytest.mark.parametrize(("search", "message"), [
    ({"fidelity": {"checkpoints": [0.2505, 1.0]}}, "thousandths"),
    ({"fidelity": {"checkpoints": [0.0, 1.0]}}, "every fraction must lie in (0, 1]"),
    ({"fidelity": {"checkpoints": [1.0]}}, "at least 2"),
    ({"fidelity": {"checkpoints": [0.5, 1.0], "kernel": "rbf"}}, "kernel"),
    ({"early_stopping": {"rule": "percentile"}}, "search.early_stopping needs search.fidelity"),
    ({"early_stopping": {"rule": "median"}}, "early_stopping"),
    ({"fidelity": {"checkpoints": [0.5, 1.0]},
      "early_stopping": {"rule": "predictive", "alpha": 1.5}}, "alpha must lie in (0, 1)"),
    ({"fidelity": {"checkpoints": [0.5, 1.0]},
      "early_stopping": {"rule": "predictive", "min_curves": 0}}, "min_curves must be >= 1"),
    ({"fidelity": {"checkpoints": [0.5, 1.0]},
      "early_stopping": {"rule": "percentile", "percentile": 120}}, "percentile must lie in"),
    ({"fidelity": {"checkpoints": [0.5, 1.0]}, "stopping": {"ei_below": 0.01}},
     "search.stopping: the expected-improvement rule does not work with search.fidelity"),
])
def test_each_bad_setting_names_its_key(tmp_path, search, message):
    text = "\n".join(_errors(_with(function_study(tmp_path), **search)))
    assert message in text, text


def test_fidelity_takes_any_launcher_but_not_lora_trials_and_one_objective(tmp_path):
    # Local and slurm trials evaluate their checkpoints through the trainer's checkpoint hook.
    for name in ("local", "slurm", "lora"):
        (tmp_path / name).mkdir()
    config = load_study_config(_with(local_study(tmp_path / "local"),
                                     fidelity={"checkpoints": [0.5, 1.0]}))
    assert config.search.fidelity.checkpoints == (0.5, 1.0)
    slurm = local_study(tmp_path / "slurm", launcher={"kind": "slurm", "executor": "local",
                                                       "gpus_per_node": 0})
    config = load_study_config(_with(slurm, fidelity={"checkpoints": [0.25, 1.0]}))
    assert config.search.fidelity.checkpoints == (0.25, 1.0)
    path = _with(local_study(tmp_path / "lora"), fidelity={"checkpoints": [0.5, 1.0]})
    data = yaml.safe_load(path.read_text())
    data["train"]["extra"] = {"lora": {"r": 4}, "checkpoint_hook": {"fractions": [0.5],
                                                                    "command": ["x"]}}
    path.write_text(yaml.safe_dump(data))
    text = "\n".join(_errors(path))
    assert "checkpoint evaluations of LoRA trials are not supported yet" in text
    assert "train.extra.checkpoint_hook: search.fidelity sets" in text
    path = _with(function_study(tmp_path / "two"), fidelity={"checkpoints": [0.5, 1.0]})
    data = yaml.safe_load(path.read_text())
    data["eval"]["secondary_objective"] = {"metric": "in_score"}
    path.write_text(yaml.safe_dump(data))
    assert "the multi-fidelity GP takes one objective" in "\n".join(_errors(path))


def test_a_resume_may_change_the_rule_but_not_the_checkpoints():
    from studies.resume_check import classify

    assert classify("search.early_stopping.percentile") == "safe"
    assert classify("search.early_stopping") == "safe"
    assert classify("search.fidelity.checkpoints") == "unsafe"
    assert classify("search.fidelity.kernel") == "safe"  # the surrogate, refitted each round
