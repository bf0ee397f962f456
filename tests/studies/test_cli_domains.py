"""`mixopt domains list|show`, with built-in and user domains."""

import pytest
import yaml
from typer.testing import CliRunner

from studies.cli import app, main

USER_DOMAINS = {
    "charts": {
        "source": {"kind": "jsonl", "path": "charts.jsonl", "image_dir": "img"},
        "answer_type": "option_letter",
        "rewards": {"format": 1.0, "accuracy_mc": 2.0},
    }
}


@pytest.fixture
def domain_file(tmp_path):
    path = tmp_path / "domains.yaml"
    path.write_text(yaml.safe_dump(USER_DOMAINS))
    return path


def test_list_shows_built_ins_and_user_domains(domain_file):
    # rich sizes the table from COLUMNS, not from click's terminal width.
    result = CliRunner().invoke(app, ["domains", "list", "--domain-file", str(domain_file)],
                                catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("coco", "lisa", "geoqav", "sat", "scienceqa", "charts", "synth_detect",
                 "synth_ood_chartcmp"):
        assert name in result.stdout
    assert "iou_detection 2" in result.stdout and "jsonl:" in result.stdout
    assert "hub:laolao77/ViRFT_COCO[train]" in result.stdout
    assert "synthetic:count_relative n=2000 seed=0" in result.stdout


def test_show_prints_the_spec_as_yaml(domain_file):
    result = CliRunner().invoke(app, ["domains", "show", "charts", "--domain-file",
                                      str(domain_file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load(result.stdout)
    assert spec["name"] == "charts" and spec["rewards"] == {"format": 1.0, "accuracy_mc": 2.0}
    assert spec["source"]["path"] == str(domain_file.parent / "charts.jsonl")


def test_unknown_name_is_one_line_listing_the_known_ones(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["domains", "show", "nope"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "unknown domain 'nope'" in err and "scienceqa" in err


def test_broken_domain_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"x": {"answer_type": "colour", "rewards": {}}}))
    with pytest.raises(SystemExit) as caught:
        main(["domains", "list", "--domain-file", str(bad)])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "answer_type" in err and "source" in err
