"""Study config: valid files load, every error is reported at once with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from studies.config import StudyConfigError, load_study_config
from tests.studies.study_files import function_study, local_study

EXAMPLES = Path(__file__).resolve().parents[2] / "studies" / "examples"


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")
                                        if not p.name.startswith("train_")))
def test_shipped_examples_are_valid(name):
    config = load_study_config(EXAMPLES / name)
    assert len(config.domain_names) >= 2


def test_defaults_and_paths(tmp_path):
    config = load_study_config(local_study(tmp_path))
    assert config.study_dir == tmp_path / "runs" / "local-unit"
    assert config.tracking_uri == f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}"  # shared
    job = config.train_job({"lisa": 0.5, "sat": 0.5, "scienceqa": 0.0},
                           output_dir=tmp_path / "o", run_id="abc")
    assert job.tracking.run_id == "abc" and job.budget == 12


def test_every_error_at_once_with_key_paths(tmp_path):
    path = _write(tmp_path, {
        "name": "bad name!", "domains": ["a"], "colour": 1,
        "search": {"batch_size": 0, "surrogate": {"nme": "gp"}},
        "launcher": {"kind": "function", "target": "no-colon"},
    })
    with pytest.raises(StudyConfigError) as info:
        load_study_config(path)
    text = str(info.value)
    for where in ("name:", "domains:", "colour: unknown key", "search.batch_size:",
                  "search.surrogate.nme: unknown key", "launcher.target:"):
        assert f"{path}: {where}" in text, (where, text)
    assert len(info.value.lines) >= 6


def test_local_launcher_needs_train_and_benchmarks(tmp_path):
    path = _write(tmp_path, {"name": "x", "domains": ["lisa", "sat"],
                             "launcher": {"kind": "local"}})
    with pytest.raises(StudyConfigError, match=r"`train` is required.*eval\.benchmarks"):
        load_study_config(path)


def test_unknown_registry_domain_lists_the_known_ones(tmp_path):
    data = yaml.safe_load(local_study(tmp_path).read_text())
    data["domains"] = ["lisa", "nope"]
    with pytest.raises(StudyConfigError, match=r"domains\[1\]: unknown domain 'nope'; known: .*"
                       "lisa"):
        load_study_config(_write(tmp_path, data))


def test_train_template_checked_as_a_trainjob(tmp_path):
    data = yaml.safe_load(local_study(tmp_path).read_text())
    data["train"]["grpo"] = {"num_generations": 4, "per_device_train_batch_size": 6}
    with pytest.raises(StudyConfigError, match="divisible by num_generations"):
        load_study_config(_write(tmp_path, data))


def test_objective_needs_one_form(tmp_path):
    data = yaml.safe_load(function_study(tmp_path).read_text())
    data["eval"]["objective"] = {"metric": "a", "weights": {"b": 1.0}}
    with pytest.raises(StudyConfigError) as info:
        load_study_config(_write(tmp_path, data))
    text = str(info.value)
    assert "exactly one of `metric` or `weights`" in text


def test_weighted_objective(tmp_path):
    data = yaml.safe_load(function_study(tmp_path).read_text())
    data["eval"]["objective"] = {"weights": {"out_score": 0.5, "in_score": 0.5}, "name": "mix"}
    config = load_study_config(_write(tmp_path, data))
    assert config.eval.objective.value({"out_score": 0.2, "in_score": 0.4}) == pytest.approx(0.3)
    with pytest.raises(KeyError, match="in_score"):
        config.eval.objective.value({"out_score": 0.2})


def test_invalid_yaml_and_non_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(StudyConfigError, match="invalid YAML: line"):
        load_study_config(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(StudyConfigError, match="expected a mapping"):
        load_study_config(bad)


def test_bounds_are_checked(tmp_path):
    data = yaml.safe_load(function_study(tmp_path).read_text())
    data["search"]["bounds"] = {"alpha": [0.5, 0.2], "zeta": [0, 1]}
    with pytest.raises(StudyConfigError) as info:
        load_study_config(_write(tmp_path, data))
    text = str(info.value)
    assert "unknown domain(s) ['zeta']" in text and "search.bounds.alpha" in text


def test_processes_must_match_the_gpus_of_a_trial(tmp_path):
    data = yaml.safe_load(local_study(tmp_path).read_text())
    data["launcher"] = {"kind": "local", "gpus_per_trial": 2}
    data["train"]["grpo"] = {"num_processes": 4}
    with pytest.raises(StudyConfigError, match=r"num_processes \(4\) must equal"):
        load_study_config(_write(tmp_path, data))


def test_held_out_tasks_cannot_be_trained_on(tmp_path):
    data = yaml.safe_load(local_study(tmp_path).read_text())
    data["domains"] = ["lisa", "synth_ood_count"]
    with pytest.raises(StudyConfigError, match=r"domains\[1\]: 'synth_ood_count' is a held-out"):
        load_study_config(_write(tmp_path, data))


@pytest.mark.parametrize(("surrogate", "message"), [
    ({"name": "gpp"}, "name: unknown surrogate 'gpp'"),
    ({"name": "gp", "options": {"foo": 1}}, "options.foo: surrogate 'gp' has no option 'foo'"),
    ({"name": "gp", "options": {"kernel": "bogus"}}, "options.kernel: unknown kernel 'bogus'"),
])
def test_surrogate_name_and_options_are_checked_at_load(tmp_path, surrogate, message):
    path = function_study(tmp_path, surrogate=surrogate, batch_size=0)
    with pytest.raises(StudyConfigError) as info:
        load_study_config(path)
    text = str(info.value)  # with the file's other errors, on the surrogate's line
    assert "search.batch_size" in text
    assert any("search.surrogate" in line and message in line for line in info.value.lines), text


def test_two_objectives_refuse_a_surrogate_without_a_botorch_model(tmp_path):
    path = function_study(tmp_path, surrogate={"name": "quadsurface"})
    path.write_text(path.read_text().replace(
        "objective:\n    metric: out_score",
        "objective:\n    metric: out_score\n  secondary_objective:\n    metric: in_score"))
    with pytest.raises(StudyConfigError, match="quadsurface' cannot propose for two"):
        load_study_config(path)


def test_known_noise_sd(tmp_path):
    assert load_study_config(function_study(tmp_path, noise_sd=0.01)).search.noise_sd == 0.01
    with pytest.raises(StudyConfigError, match="give the noise once"):
        load_study_config(function_study(tmp_path, noise_sd=0.01,
                                         surrogate={"name": "gp", "options": {"noise_var": 1}}))
