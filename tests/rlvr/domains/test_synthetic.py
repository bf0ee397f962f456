"""The synthetic domains: deterministic, right by construction, loaded like any other source."""

import hashlib
import math
import re
from collections import Counter

import pytest
import yaml
from pydantic import ValidationError

from rlvr.domains import (
    DomainSpec,
    ImagePolicy,
    SyntheticSource,
    default_registry,
    load_records,
    synthetic_domains,
)
from rlvr.domains.reference import FORMAT_WEIGHT, MULTIPLE_CHOICE_TEMPLATE, TASK_WEIGHT
from rlvr.domains.synthetic import (
    GENERATOR_VERSION,
    IMAGE_SIZE,
    UnknownSyntheticTaskError,
    make_record,
    task_names,
)
from rlvr.domains.synthetic.answers import Choice, reference_completion
from rlvr.domains.synthetic.charts import BASELINE, UNIT
from rlvr.domains.synthetic.domains import OUT_OF_DOMAIN, TRAINING_DOMAINS
from rlvr.domains.synthetic.scene import COLOURS
from rlvr.domains.synthetic.spatial import RELATIONS, related_cells
from rlvr.rewards.parsing import parse_box, parse_detections, solution_answer

SPECS = {spec.name: spec for spec in synthetic_domains()}
TASK_OF = {name: spec.source.task for name, spec in SPECS.items()}
# sha256 of the first 5 records (image bytes, problem, solution, thinking) of each task for
# seed 0.
# A change here means the records changed: bump GENERATOR_VERSION (cached warm-started models
# are keyed by it), then update the digests.
GOLDEN = {
    1: {
        "chart": "60d5042b7f33836a",
        "chart_comparison": "a3e11de017d285b3",
        "count_relative": "3f092dd0d2774e07",
        "detect": "213a1026813c8467",
        "geometry": "42e98322757f2628",
        "ground": "39a55afa7aab0d4c",
        "spatial": "619901c50be50981",
    }
}


def digest(task, seed, indices):
    h = hashlib.sha256()
    for i in indices:
        record = make_record(task, seed, i)
        h.update(record.image.tobytes())
        h.update(record.problem.encode())
        h.update(record.solution.encode())
        h.update(record.thinking.encode())
    return h.hexdigest()[:16]


def pixels(image, colour):
    """``(x, y)`` of every pixel of exactly ``colour`` (a `COLOURS` name)."""
    rgb = COLOURS[colour]
    width, height = image.size
    data = image.load()
    return [(x, y) for y in range(height) for x in range(width) if data[x, y] == rgb]


def options(problem):
    """Letter -> option text of a multiple-choice problem."""
    return dict(re.findall(r"\(([A-E])\) ([^()]+?)(?= \(|\.$)", problem))


def to_pixels(box):
    return [round(v * IMAGE_SIZE / 1000) for v in box]


def test_the_seven_domains():
    assert set(SPECS) == set(TRAINING_DOMAINS) | set(OUT_OF_DOMAIN)
    assert len(SPECS) == 7 and set(TASK_OF.values()) == set(task_names())
    for name, spec in SPECS.items():
        assert spec.source.seed != spec.test_source.seed
        assert spec.evaluation == ("out_of_domain" if name in OUT_OF_DOMAIN else "in_domain")
        task_reward = {"synth_detect": "iou_detection", "synth_ground": "iou_grounding"}.get(
            name, "accuracy_mc"
        )
        assert spec.rewards == {"format": FORMAT_WEIGHT, task_reward: TASK_WEIGHT}
        if task_reward == "accuracy_mc":
            assert spec.prompt_template == MULTIPLE_CHOICE_TEMPLATE
            assert spec.answer_type == "option_letter"
        else:  # box problems carry their own output instructions
            assert spec.prompt_text("P") == "P"
    assert SPECS["synth_detect"].answer_type == "box_list"
    assert SPECS["synth_ground"].answer_type == "box"


@pytest.mark.parametrize("task", task_names())
def test_same_seed_same_records_other_seed_other_records(task):
    assert digest(task, 0, range(5)) == GOLDEN[GENERATOR_VERSION][task]
    assert digest(task, 7, range(10)) == digest(task, 7, range(10))
    first, again = make_record(task, 3, 4), make_record(task, 3, 4)
    assert first.image.tobytes() == again.image.tobytes()
    assert (first.problem, first.solution) == (again.problem, again.solution)
    # Another seed: a different stream (each record checked on its own).
    same = sum(
        make_record(task, 0, i).image.tobytes() == make_record(task, 1, i).image.tobytes()
        for i in range(20)
    )
    assert same == 0


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_perfect_completion_gets_the_full_reward(name):
    spec = SPECS[name]
    reward = spec.reward_fn()
    for split in ("train", "test"):
        loaded = load_records(spec, split, limit=200)
        assert loaded.report.bad == 0
        solutions = [record.solution for record in loaded]
        source = spec.source_for(split)
        completions = [
            reference_completion(make_record(source.task, source.seed, i))
            for i in range(len(loaded))
        ]
        assert all(c.endswith(s) for c, s in zip(completions, solutions, strict=True))
        assert reward(completions, solution=solutions) == [FORMAT_WEIGHT + TASK_WEIGHT] * len(
            solutions
        )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_images_are_small_rgb_squares(name):
    for record in load_records(SPECS[name], "test", limit=20):
        assert record.image.mode == "RGB" and record.image.size == (IMAGE_SIZE, IMAGE_SIZE)
    # The loader's image policy applies as to any source (here: upscaling).
    upscaled = load_records(SPECS[name], "test", limit=1, images=ImagePolicy(min_short_side=112))
    assert upscaled[0].image.size == (112, 112)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_train_and_test_records_are_disjoint(name):
    def keys(split):
        return {
            (hashlib.sha256(r.image.tobytes()).hexdigest(), r.problem)
            for r in load_records(SPECS[name], split)
        }

    train, test = keys("train"), keys("test")
    # Repeats within a split are rare (small charts can come out twice), none across splits.
    assert len(train) >= 0.99 * SPECS[name].source.n
    assert len(test) >= 0.99 * SPECS[name].test_source.n
    assert not train & test


@pytest.mark.parametrize(
    "name", [n for n in sorted(SPECS) if n not in ("synth_detect", "synth_ground")]
)
def test_multiple_choice_answers_are_spread_over_the_options(name):
    letters = Counter(
        solution_answer(r.solution) for r in load_records(SPECS[name], "train", limit=600)
    )
    assert len(letters) >= 2 and max(letters.values()) < 0.6 * 600, letters


def test_detection_boxes_cover_every_pixel_of_a_queried_colour():
    empty = 0
    records = load_records(SPECS["synth_detect"], "test")
    for record in records:
        query = re.match(r"Find all (\w+) objects", record.problem)
        truth = parse_detections(solution_answer(record.solution))
        empty += not truth
        for detection in truth:
            x1, y1, x2, y2 = to_pixels(detection.box)
            inside = sum(
                record.image.getpixel((x, y)) in COLOURS.values()
                for x in range(x1, x2)
                for y in range(y1, y2)
            )
            assert inside >= 0.4 * (x2 - x1) * (y2 - y1)
        if query is None:
            continue
        boxes = [to_pixels(d.box) for d in truth]
        for x, y in pixels(record.image, query.group(1)):
            assert any(b[0] <= x < b[2] and b[1] <= y < b[3] for b in boxes)
    assert 0.05 * len(records) <= empty <= 0.35 * len(records)  # "No Objects" now and then


def test_grounding_box_is_tight_around_the_named_colour():
    for record in load_records(SPECS["synth_ground"], "test", limit=100):
        colour = re.search(r"bounding box of the (\w+) (\w+)", record.problem).group(1)
        x1, y1, x2, y2 = to_pixels(parse_box(solution_answer(record.solution)))
        inside = [(x, y) for x, y in pixels(record.image, colour) if x1 <= x < x2 and y1 <= y < y2]
        xs, ys = [x for x, _ in inside], [y for _, y in inside]
        assert (min(xs), min(ys), max(xs) + 1, max(ys) + 1) == (x1, y1, x2, y2)


def test_chart_answers_and_reasoning_match_the_bar_heights():
    checked = 0
    source = SPECS["synth_chart"].test_source
    for index, record in enumerate(load_records(SPECS["synth_chart"], "test")):
        thinking = make_record(source.task, source.seed, index).thinking
        answer = options(record.problem)[solution_answer(record.solution)]
        heights = {}
        for colour in COLOURS:
            found = pixels(record.image, colour)
            if found:
                heights[colour] = BASELINE - min(y for _, y in found)
        value = re.search(r"value of the (\w+) bar", record.problem)
        if value:
            assert heights[value.group(1)] in [UNIT * int(v) for v in answer.split(" or ")]
            assert thinking == f"the {value.group(1)} bar is {heights[value.group(1)] // UNIT}"
        else:
            pick = max if "tallest" in record.problem else min
            assert heights[answer] == pick(heights.values())
            described = dict(re.findall(r"(\w+) (\d)", thinking.removeprefix("bars ")))
            assert {c: UNIT * int(v) for c, v in described.items()} == heights
        checked += 1
    assert checked == SPECS["synth_chart"].test_source.n


def test_segment_answers_match_the_drawn_lengths():
    for record in load_records(SPECS["synth_geometry"], "test"):
        if "segment" not in record.problem:
            assert "angle" in record.problem
            continue
        answer = options(record.problem)[solution_answer(record.solution)]
        drawn = {}  # colour -> diagonal of its pixels' bounding box, about the segment's length
        for colour in COLOURS:
            found = pixels(record.image, colour)
            if found:
                xs, ys = [x for x, _ in found], [y for _, y in found]
                drawn[colour] = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
        pick = max if "longest" in record.problem else min
        assert drawn[answer] == pick(drawn.values())


def test_spatial_cells_are_in_the_asked_relation():
    import random

    rng = random.Random(0)
    for relation in RELATIONS:
        for _ in range(50):
            (c1, r1), (c2, r2) = related_cells(rng, relation)
            assert {
                "left": r1 == r2 and c1 < c2,
                "right": r1 == r2 and c1 > c2,
                "above": c1 == c2 and r1 < r2,
                "below": c1 == c2 and r1 > r2,
            }[relation]


def test_spatial_reasoning_names_the_cells_of_the_answer():
    records = load_records(SPECS["synth_spatial"], "test")
    source = SPECS["synth_spatial"].test_source
    for index, record in enumerate(records):
        thinking = make_record(source.task, source.seed, index).thinking
        (c1, r1), (c2, r2) = [(int(c), int(r)) for c, r in re.findall(r"at (\d) (\d)", thinking)]
        relation = options(record.problem)[solution_answer(record.solution)]
        assert {"left": c1 < c2, "right": c1 > c2, "above": r1 < r2, "below": r1 > r2}[relation]
        target = re.match(r"Where is the (\w+ \w+) relative", record.problem).group(1)
        assert thinking.startswith(f"{target} at ")


def test_choice_checks_its_options():
    assert Choice.of((0, 1, 2, 3), 2).text() == "Options: (A) 0 (B) 1 (C) 2 (D) 3."
    assert Choice.of(("yes", "no"), "no").letter() == "B"
    with pytest.raises(ValueError, match="repeat"):
        Choice(("a", "a"), 0)
    with pytest.raises(ValueError, match="options are needed"):
        Choice(("a",), 0)


def test_domain_file_with_a_synthetic_source(tmp_path):
    path = tmp_path / "domains.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "shapes": {
                    "source": {"kind": "synthetic", "task": "spatial", "n": 30, "seed": 5},
                    "test_source": {"kind": "synthetic", "task": "spatial", "n": 10, "seed": 6},
                    "prompt_template": MULTIPLE_CHOICE_TEMPLATE,
                    "answer_type": "option_letter",
                    "rewards": {"format": 1.0, "accuracy_mc": 2.0},
                    "evaluation": "out_of_domain",
                }
            }
        )
    )
    spec = default_registry([path]).get("shapes")
    assert spec.source == SyntheticSource(task="spatial", n=30, seed=5)
    assert spec.evaluation == "out_of_domain"
    loaded = load_records(spec, "train")
    assert len(loaded) == 30 and loaded.report.total == 30 and loaded.report.bad == 0
    assert loaded.source_index(29) == 29
    assert len(load_records(spec, "train", limit=4)) == 4
    record, direct = loaded[12], make_record("spatial", 5, 12)
    assert record.image.tobytes() == direct.image.tobytes()
    assert (record.problem, record.solution) == (direct.problem, direct.solution)
    assert load_records(spec, "test")[0].problem == make_record("spatial", 6, 0).problem
    with pytest.raises(IndexError):
        loaded[30]


def test_synthetic_source_is_validated():
    with pytest.raises(ValidationError) as caught:
        SyntheticSource(task="nope", n=0, seed=-1)
    message = str(caught.value)
    assert "unknown synthetic task 'nope'; tasks: chart, chart_comparison" in message
    assert "n\n" in message and "seed\n" in message
    with pytest.raises(ValidationError, match="Extra inputs"):
        SyntheticSource(task="chart", n=1, seed=0, path="x")
    with pytest.raises(UnknownSyntheticTaskError, match="tasks: chart"):
        make_record("nope", 0, 0)
    with pytest.raises(ValueError, match=">= 0"):
        make_record("chart", 0, -1)
    with pytest.raises(ValidationError, match="evaluation"):
        DomainSpec(
            name="x",
            source=SyntheticSource(task="chart", n=1, seed=0),
            answer_type="option_letter",
            rewards={"accuracy_mc": 1.0},
            evaluation="both",
        )
