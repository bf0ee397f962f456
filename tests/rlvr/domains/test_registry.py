import pytest

from rlvr.domains import (
    MULTIPLE_CHOICE_TEMPLATE,
    DomainFileError,
    DomainRegistry,
    DomainSpec,
    UnknownDomainError,
    default_registry,
    load_domain_file,
)

USER_DOMAINS = """
charts:
  description: bar charts
  source: {kind: jsonl, path: charts.jsonl, image_dir: charts}
  answer_type: option_letter
  rewards: {format: 1.0, accuracy_mc: 2.0}
  system_prompt: You are careful.
geometry:
  source: {kind: disk, path: /data/geometry, split: train}
  test_source: {kind: hub, id: me/geometry-test}
  prompt_template: "{problem} Answer in <answer></answer>."
  answer_type: math
  rewards: {format: 1.0, accuracy_math: 2.0}
  gate_on_format: false
"""


REFERENCE = ("coco", "geoqav", "lisa", "sat", "scienceqa")
SYNTHETIC = (
    "synth_chart",
    "synth_detect",
    "synth_geometry",
    "synth_ground",
    "synth_ood_chartcmp",
    "synth_ood_count",
    "synth_spatial",
)


def test_the_five_reference_domains():
    registry = default_registry()
    assert registry.names() == REFERENCE + SYNTHETIC
    coco, lisa, geoqav, sat, scienceqa = (
        registry.get(n) for n in ("coco", "lisa", "geoqav", "sat", "scienceqa")
    )
    assert coco.source.id == "laolao77/ViRFT_COCO" and coco.test_source is None
    assert lisa.source.id == "yiqingliang/lisa-problems-dataset"
    assert lisa.test_source.id == "yiqingliang/lisa-problems-dataset-test"
    assert geoqav.source.id == "yiqingliang/geoqav-problems-dataset"
    assert sat.source.id == "yiqingliang/sat-problems-dataset"
    assert sat.test_source.id == "yiqingliang/sat-problems-dataset-test"
    assert sat.source_for("mini").id == "yiqingliang/sat-problems-dataset-mini"
    assert scienceqa.test_source.id == "yiqingliang/scienceqa-problems-dataset-test"
    assert coco.rewards == {"format": 1.0, "iou_detection": 2.0}
    assert lisa.rewards == {"format": 1.0, "iou_grounding": 2.0}
    for mc in (geoqav, sat, scienceqa):
        assert mc.rewards == {"format": 1.0, "accuracy_mc": 2.0}
        assert mc.answer_type == "option_letter"
        assert mc.prompt_text("P?") == (
            "P?  Output the thinking process in <think> </think> and final answer (option) "
            "in <answer> </answer> tags."
        )
    assert MULTIPLE_CHOICE_TEMPLATE.startswith("{problem}  Output")
    assert coco.prompt_text("P?") == lisa.prompt_text("P?") == "P?"
    assert (coco.answer_type, lisa.answer_type) == ("box_list", "box")
    assert all(spec.gate_on_format and spec.system_prompt is None for spec in registry)
    assert all(registry.get(name).evaluation == "in_domain" for name in REFERENCE)


def test_each_default_registry_is_new():
    first = default_registry()
    first.register(
        DomainSpec(
            name="mine",
            source={"kind": "hub", "id": "a/b"},
            answer_type="math",
            rewards={"accuracy_math": 1.0},
        )
    )
    assert "mine" in first and "mine" not in default_registry()


def test_duplicates_are_refused_and_unknown_names_list_the_known_ones():
    registry = default_registry()
    with pytest.raises(ValueError, match="'sat' is already registered"):
        registry.register(registry.get("sat"))
    with pytest.raises(UnknownDomainError) as caught:
        registry.get("chartqa")
    assert str(caught.value) == (
        f"unknown domain 'chartqa'; known domains: {', '.join(REFERENCE + SYNTHETIC)}"
    )
    with pytest.raises(KeyError):
        registry.get(["unhashable"])


def test_copy_is_independent():
    registry = DomainRegistry()
    copy = default_registry().copy()
    assert len(registry) == 0 and len(copy) == len(REFERENCE + SYNTHETIC)


def test_domain_file_as_a_mapping(tmp_path):
    path = tmp_path / "domains.yaml"
    path.write_text(USER_DOMAINS)
    charts, geometry = load_domain_file(path)
    assert charts.name == "charts" and charts.system_prompt == "You are careful."
    assert charts.source.path == tmp_path / "charts.jsonl"  # relative to the file
    assert charts.source.image_dir == tmp_path / "charts"
    assert str(geometry.source.path) == "/data/geometry"
    assert geometry.gate_on_format is False and geometry.answer_type == "math"
    registry = default_registry([path])
    assert registry.names() == tuple(sorted(("charts", "geometry", *REFERENCE, *SYNTHETIC)))


def test_domain_file_as_a_list(tmp_path):
    path = tmp_path / "domains.yaml"
    path.write_text(
        "- name: a\n  source: {kind: hub, id: x/a}\n  answer_type: box\n"
        "  rewards: {iou_grounding: 1}\n"
    )
    (spec,) = load_domain_file(path)
    assert spec.name == "a" and spec.rewards == {"iou_grounding": 1.0}


def test_domain_file_reports_every_error_with_its_key_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        """
charts:
  source: {kind: hub}
  answer_type: letter
  rewards: {format: 1.0, acuracy: 2.0}
  colour: red
geometry:
  name: geo
  source: {kind: hub, id: x/y}
  answer_type: math
  rewards: {format: 1}
other: 3
"""
    )
    with pytest.raises(DomainFileError) as caught:
        load_domain_file(path)
    lines = caught.value.lines
    assert str(caught.value) == "\n".join(lines)
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert any("charts.source.id: Field required" in line for line in lines)
    assert any("charts.answer_type: Input should be" in line for line in lines)
    assert any(
        "charts.rewards: unknown reward(s) 'acuracy'; known rewards: " in line for line in lines
    )
    assert any("charts.colour: unknown key" in line for line in lines)
    assert any("geometry.name: 'geo' differs from its key 'geometry'" in line for line in lines)
    assert any("other: expected a mapping" in line for line in lines)
    assert len(lines) == 6


def test_list_file_errors_name_the_item(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "- name: a\n  source: {kind: disk}\n  answer_type: box\n  rewards: {format: 1}\n"
    )
    with pytest.raises(DomainFileError, match=r"bad.yaml: \[0\]\.source\.path: Field required"):
        load_domain_file(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [unclosed", "invalid YAML: line 1"),
        ("just a string", "expected a list of domains"),
        ("- !!python/object:os.system ls", "invalid YAML"),
    ],
)
def test_unreadable_domain_files(tmp_path, text, expected):
    path = tmp_path / "d.yaml"
    path.write_text(text)
    with pytest.raises(DomainFileError, match=expected):
        load_domain_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(DomainFileError, match="cannot read the file"):
        load_domain_file(tmp_path / "nope.yaml")


def test_files_may_not_redefine_a_domain(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    body = "source: {kind: hub, id: x/y}\n  answer_type: math\n  rewards: {format: 1}\n"
    first.write_text(f"sat:\n  {body}")
    second.write_text(f"mine:\n  {body}")
    (tmp_path / "c.yaml").write_text(f"mine:\n  {body}")
    with pytest.raises(DomainFileError) as caught:
        default_registry([first, second, tmp_path / "c.yaml"])
    assert len(caught.value.lines) == 2
    assert "'sat' is already registered" in caught.value.lines[0]
    assert "'mine' is also defined in" in caught.value.lines[1]
