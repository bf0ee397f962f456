import json

import pytest
from PIL import Image

from rlvr.domains import (
    BadRecordsWarning,
    DomainSpec,
    ImagePolicy,
    Record,
    SourceFormatError,
    SourceUnavailableError,
    TooManyBadRecordsError,
    UndecodableImageError,
    UnknownSplitError,
    default_registry,
    load_records,
)
from tests.rlvr.domains.standins import image_bytes, mc_row, save_disk_dataset, write_jsonl


def domain(source, answer_type="option_letter", **fields):
    rewards = {
        "option_letter": {"format": 1.0, "accuracy_mc": 2.0},
        "math": {"accuracy_math": 1.0},
        "box": {"iou_grounding": 1.0},
        "box_list": {"iou_detection": 1.0},
    }[answer_type]
    return DomainSpec(name="toy", source=source, answer_type=answer_type, rewards=rewards, **fields)


def disk_domain(tmp_path, rows, **fields):
    path = save_disk_dataset(tmp_path / "saved", rows)
    return domain({"kind": "disk", "path": str(path)}, **fields)


def jsonl_domain(tmp_path, rows, answer_type="option_letter"):
    path, images = write_jsonl(tmp_path, rows)
    return domain({"kind": "jsonl", "path": str(path), "image_dir": str(images)}, answer_type)


def test_disk_records_are_read_lazily_as_rgb(tmp_path):
    spec = disk_domain(tmp_path, [mc_row(i) for i in range(5)])
    loaded = load_records(spec)
    assert len(loaded) == 5 and loaded.name == "toy" and loaded.split == "train"
    assert loaded.report.bad == 0 and loaded.report.total == 5
    record = loaded[3]
    assert isinstance(record, Record)
    assert record.image.mode == "RGB" and record.image.size == (40, 30)
    assert record.problem == "Question 3 {braces}? A. yes B. no"
    assert record.solution == "<answer> B </answer>"
    assert [r.problem for r in loaded][-1] == loaded[-1].problem
    with pytest.raises(IndexError):
        loaded[5]


def test_limit_reads_only_the_first_records(tmp_path):
    spec = disk_domain(tmp_path, [mc_row(i) for i in range(5)])
    assert len(load_records(spec, limit=2)) == 2
    jsonl = jsonl_domain(tmp_path / "j", [mc_row(i) for i in range(5)])
    assert [r.problem for r in load_records(jsonl, limit=3)][-1].startswith("Question 2")
    with pytest.raises(ValueError, match="limit"):
        load_records(spec, limit=-1)


def test_a_2x2_image_is_upscaled_to_28(tmp_path):
    spec = disk_domain(tmp_path, [mc_row(0, image_bytes((2, 2)))])
    assert load_records(spec)[0].image.size == (28, 28)


def test_a_large_image_is_capped_keeping_its_aspect(tmp_path):
    spec = disk_domain(tmp_path, [mc_row(0, image_bytes((400, 200)))])
    image = load_records(spec, images=ImagePolicy(max_pixels=20_000, max_aspect_ratio=10))[0].image
    assert image.size == (200, 100)


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P"])
def test_other_colour_modes_become_rgb(tmp_path, mode):
    rows = [mc_row(0, image_bytes((30, 30), mode=mode, color=0 if mode == "P" else 100))]
    assert load_records(jsonl_domain(tmp_path, rows))[0].image.mode == "RGB"


def test_saved_dataset_dict_split(tmp_path):
    path = save_disk_dataset(tmp_path / "dd", [mc_row(0)], split="train")
    assert len(load_records(domain({"kind": "disk", "path": str(path)}))) == 1
    assert len(load_records(domain({"kind": "disk", "path": str(path), "split": "train"}))) == 1
    with pytest.raises(SourceFormatError, match="no split 'test'; its splits: train"):
        load_records(domain({"kind": "disk", "path": str(path), "split": "test"}))


def test_missing_sources_and_columns(tmp_path):
    with pytest.raises(SourceUnavailableError, match="no saved dataset folder"):
        load_records(domain({"kind": "disk", "path": str(tmp_path / "none")}))
    with pytest.raises(SourceUnavailableError, match="cannot read"):
        load_records(domain({"kind": "jsonl", "path": str(tmp_path / "x.jsonl"), "image_dir": "."}))
    import datasets

    datasets.Dataset.from_dict({"problem": ["p"], "answer": ["a"]}).save_to_disk(
        str(tmp_path / "c")
    )
    with pytest.raises(SourceFormatError, match="no column 'image', 'solution'; its columns"):
        load_records(domain({"kind": "disk", "path": str(tmp_path / "c")}))


def test_unknown_split():
    with pytest.raises(UnknownSplitError, match="its splits: train"):
        load_records(default_registry().get("coco"), "test")


def test_an_uncached_hub_dataset_offline_gives_one_line():
    spec = domain({"kind": "hub", "id": "mixopt-tests/not-a-dataset"})
    with pytest.raises(SourceUnavailableError) as caught:
        load_records(spec)
    message = str(caught.value)
    assert "\n" not in message
    assert "'mixopt-tests/not-a-dataset'" in message and "not in the local" in message
    assert "`disk`" in message and "`jsonl`" in message


def test_jsonl_records_and_bare_answers(tmp_path):
    rows = [mc_row(0), {**mc_row(1), "solution": "C"}]
    loaded = load_records(jsonl_domain(tmp_path, rows))
    assert [r.solution for r in loaded] == ["<answer> B </answer>", "<answer>C</answer>"]


def many_good(n):
    return [mc_row(i) for i in range(n)]


def test_bad_records_are_skipped_counted_and_warned(tmp_path):
    rows = many_good(300)
    rows[5] = {**mc_row(5), "solution": 3}
    rows[7] = {k: v for k, v in mc_row(7).items() if k != "problem"}
    with pytest.warns(BadRecordsWarning, match=r"2 of 300 records are bad"):
        loaded = load_records(jsonl_domain(tmp_path, rows))
    assert len(loaded) == 298
    assert loaded.report.counts == {"non-string solution": 1, "missing field": 1}
    assert [e.index for e in loaded.report.examples] == [5, 7]
    assert loaded.source_index(5) == 6  # records after a skipped one keep their source index
    summary = json.loads(json.dumps(loaded.report.summary()))
    assert summary["bad"] == 2 and summary["bad_by_reason"]["missing field"] == 1


def test_every_kind_of_bad_record(tmp_path):
    bad = [
        {"image": b"not an image", "problem": "p", "solution": "<answer>A</answer>"},
        {"image": "missing.png", "problem": "p", "solution": "<answer>A</answer>"},
        {"image": image_bytes((4, 2000)), "problem": "p", "solution": "<answer>A</answer>"},
        {"image": image_bytes(), "problem": 7, "solution": "<answer>A</answer>"},
        {"image": image_bytes(), "problem": "p", "solution": None},
        {"image": image_bytes(), "problem": "p", "solution": "<answer>A"},
        {"image": image_bytes(), "problem": "p", "solution": "<answer>no letter here</answer>"},
        "{broken json",
        "[1, 2]",
    ]
    with pytest.raises(TooManyBadRecordsError) as caught:
        load_records(jsonl_domain(tmp_path, bad + many_good(1)))
    message = str(caught.value)
    assert "domain 'toy' (train): 9 of 10 records are bad" in message
    for reason in (
        "undecodable image: 2",
        "unusable image size: 1",
        "non-string problem: 1",
        "missing field: 1",
        "unreadable answer: 2",
        "unreadable line: 2",
    ):
        assert reason in message
    assert message.count("#") == 3  # three examples: index + reason
    assert "#0 undecodable image" in message


def test_more_than_one_percent_bad_is_an_error_with_examples(tmp_path):
    rows = many_good(100)
    rows[10] = {**mc_row(10), "image": None}
    rows[20] = {**mc_row(20), "solution": ["B"]}
    with pytest.raises(TooManyBadRecordsError, match=r"domain 'toy' \(train\): 2 of 100") as caught:
        load_records(disk_domain(tmp_path, rows))
    assert "#10 missing field: image" in str(caught.value)
    assert "more than the 1% allowed" in str(caught.value)


def test_boxes_out_of_range_are_bad(tmp_path):
    def row(answer):
        return {
            "image": image_bytes(),
            "problem": "where?",
            "solution": f"<answer>{answer}</answer>",
        }

    rows = [row("[10, 20, 300, 400]")] * 150 + [row("[10, 20, 300, 1400]"), row("[5, 5, 5, 9]")]
    with pytest.warns(BadRecordsWarning):
        loaded = load_records(jsonl_domain(tmp_path, rows, "box"), max_bad_fraction=0.02)
    assert loaded.report.counts == {"box out of range": 1, "invalid box": 1}

    detections = [
        row("[{'Position': [1, 2, 30, 40], 'Confidence': 0.9}]"),
        row("No Objects"),
        row("[{'Position': [1, 2, 30, 4000], 'Confidence': 0.9}]"),
    ]
    with pytest.raises(TooManyBadRecordsError, match=r"#2 box out of range: \[1, 2, 30, 4000\]"):
        load_records(jsonl_domain(tmp_path / "det", detections, "box_list"))


def test_math_answers_are_not_parsed(tmp_path):
    rows = [{"image": image_bytes(), "problem": "p", "solution": "<answer>\\frac{1}{2}</answer>"}]
    assert len(load_records(jsonl_domain(tmp_path, rows, "math"))) == 1


def test_truncated_image_found_on_access_or_with_full_check(tmp_path):
    buffer = image_bytes((200, 200), color=(10, 200, 30))
    truncated = buffer[: len(buffer) // 2]
    rows = [*many_good(200), mc_row(200, truncated)]
    spec = jsonl_domain(tmp_path, rows)
    loaded = load_records(spec)  # the header is fine
    with pytest.raises(UndecodableImageError, match=r"domain 'toy' \(train\).*#200"):
        loaded[200]
    with pytest.warns(BadRecordsWarning, match="undecodable image: 1"):
        assert len(load_records(spec, check_images="full")) == 200


def test_an_empty_source_is_an_error(tmp_path):
    with pytest.raises(TooManyBadRecordsError, match="holds no records"):
        load_records(jsonl_domain(tmp_path, []))


def test_images_are_not_decoded_at_load(tmp_path, monkeypatch):
    spec = disk_domain(tmp_path, many_good(20))
    decoded = []
    original = Image.Image.load

    def counting_load(self):
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(Image.Image, "load", counting_load)
    loaded = load_records(spec)
    assert decoded == [] and len(loaded) == 20
    decoded.clear()
    loaded[0]
    assert decoded


@pytest.mark.parametrize("where", ["absolute", "climbing"])
def test_image_paths_leaving_image_dir_are_refused_unless_allowed(tmp_path, where):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(image_bytes())
    image = str(outside) if where == "absolute" else "../../elsewhere.png"
    path, images = write_jsonl(tmp_path / "j", [*many_good(3), {**mc_row(9), "image": image}])
    source = {"kind": "jsonl", "path": str(path), "image_dir": str(images)}
    with pytest.raises(SourceFormatError) as info:
        load_records(domain(source))
    message = str(info.value)
    assert "line 4" in message and repr(image) in message and "\n" not in message
    assert "allow_images_outside" in message
    allowed = load_records(domain({**source, "allow_images_outside": True}))
    assert allowed[3].image.size[0] > 0


def test_image_paths_inside_image_dir_with_dots_are_fine(tmp_path):
    path, images = write_jsonl(tmp_path, many_good(2))
    (images / "sub").mkdir()
    text = path.read_text().replace('"0.png"', '"sub/../0.png"')
    path.write_text(text)
    loaded = load_records(domain({"kind": "jsonl", "path": str(path), "image_dir": str(images)}))
    assert len(loaded) == 2
