import pytest
from pydantic import ValidationError

from rlvr.domains import DiskSource, DomainSpec, HubSource, JsonlSource, UnknownSplitError


def spec(**overrides):
    fields = {
        "name": "charts",
        "source": {"kind": "hub", "id": "me/charts"},
        "answer_type": "option_letter",
        "rewards": {"format": 1.0, "accuracy_mc": 2.0},
    }
    fields.update(overrides)
    return DomainSpec.model_validate(fields)


def test_sources_are_told_apart_by_kind():
    assert spec().source == HubSource(id="me/charts", split="train")
    disk = spec(source={"kind": "disk", "path": "data/charts"}).source
    assert isinstance(disk, DiskSource) and disk.split is None
    jsonl = spec(source={"kind": "jsonl", "path": "c.jsonl", "image_dir": "img"}).source
    assert isinstance(jsonl, JsonlSource)


def test_defaults_and_frozen():
    domain = spec()
    assert domain.prompt_template == "{problem}"
    assert domain.gate_on_format is True
    assert domain.system_prompt is None
    with pytest.raises(ValidationError):
        domain.name = "other"


def test_unknown_reward_lists_the_known_ones():
    with pytest.raises(ValidationError) as caught:
        spec(rewards={"format": 1.0, "acuracy": 2.0})
    message = str(caught.value)
    assert "unknown reward(s) 'acuracy'" in message
    for known in ("accuracy_math", "accuracy_mc", "format", "iou_detection", "iou_grounding"):
        assert known in message


@pytest.mark.parametrize(
    "overrides",
    [
        {"rewards": {}},
        {"rewards": {"format": 0.0}},
        {"rewards": {"format": -1.0}},
        {"rewards": {"format": float("nan")}},
        {"rewards": {"format": True}},
        {"prompt_template": "no placeholder"},
        {"answer_type": "letter"},
        {"name": "a=b"},
        {"name": ""},
        {"gate_on_format": "yes"},
        {"source": {"kind": "s3", "id": "x"}},
        {"source": {"kind": "hub"}},
        {"extra_splits": {"test": {"kind": "hub", "id": "x"}}},
        {"unexpected": 1},
    ],
)
def test_invalid_specs_are_refused(overrides):
    with pytest.raises(ValidationError):
        spec(**overrides)


def test_all_errors_at_once():
    with pytest.raises(ValidationError) as caught:
        spec(name="", answer_type="letter", rewards={"nope": 1.0}, colour="red")
    assert caught.value.error_count() == 4


def test_prompt_text_replaces_only_the_placeholder():
    domain = spec(prompt_template="Q: {problem} -- answer as {'letter': X}")
    problem = "Box [{'Position': [1, 2, 3, 4]}] and {problem} and {0}"
    assert domain.prompt_text(problem) == f"Q: {problem} -- answer as {{'letter': X}}"


def test_splits_and_their_sources():
    domain = spec(
        test_source={"kind": "hub", "id": "me/charts-test"},
        extra_splits={"mini": {"kind": "hub", "id": "me/charts-mini"}},
    )
    assert domain.splits() == ("train", "test", "mini")
    assert domain.source_for("mini").id == "me/charts-mini"
    with pytest.raises(UnknownSplitError, match="its splits: train, test, mini"):
        domain.source_for("validation")
    with pytest.raises(UnknownSplitError, match=r"its splits: train$"):
        spec().source_for("test")


def test_relative_paths_resolve_against_a_folder(tmp_path):
    domain = spec(
        source={"kind": "jsonl", "path": "c.jsonl", "image_dir": "img"},
        test_source={"kind": "disk", "path": "/abs/test"},
    ).with_paths_from(tmp_path)
    assert domain.source.path == tmp_path / "c.jsonl"
    assert domain.source.image_dir == tmp_path / "img"
    assert str(domain.test_source.path) == "/abs/test"


def test_reward_fn_combines_the_weights():
    reward = spec().reward_fn()
    good = "<think>x</think><answer>B</answer>"
    assert reward([good, "<answer>B</answer>"], solution=["<answer>B</answer>"] * 2) == [3.0, 0.0]
