"""The warm start: cached by recipe, rebuilt on a new recipe, atomic, loadable, deterministic,
checkpointed (a killed build continues), with plain progress lines in logs."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported

import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file

from rlvr.domains import default_registry, load_records, prompt_messages
from rlvr.models import load_model_and_processor
from rlvr.models.qwen2vl_tokens import IM_END
from rlvr.models.warm_start import (
    IGNORE_INDEX,
    RECIPE_FILE,
    STATS_FILE,
    SupervisedExample,
    WarmStartRecipe,
    collate,
    ensure_warm_started,
    read_warm_start_recipe,
    warm_start_checkpoints,
    warm_start_folder,
)
from tests.rlvr.models.small import SMALL_MODEL

SMALL = WarmStartRecipe(
    model=SMALL_MODEL,
    domains=("synth_spatial", "synth_ground"),
    records_per_domain=8,
    steps=4,
    batch_size=4,
    warmup_steps=1,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cache = tmp_path_factory.mktemp("warm")
    return cache, ensure_warm_started(cache, seed=0, recipe=SMALL)


def test_builds_a_loadable_trained_model_with_its_recipe(built):
    cache, folder = built
    assert folder == warm_start_folder(cache, seed=0, recipe=SMALL)
    record = read_warm_start_recipe(folder)
    assert record["recipe_hash"] == SMALL.recipe_hash() and record["seed"] == 0
    assert record["recipe"]["model_recipe_hash"] == SMALL_MODEL.recipe_hash()
    stats = json.loads((folder / STATS_FILE).read_text())
    assert len(stats["losses"]) == SMALL.steps and stats["examples"] == 16
    model, processor = load_model_and_processor(str(folder))
    spec = default_registry().get("synth_spatial")
    record = load_records(spec, "test", limit=1)[0]
    text = processor.apply_chat_template(
        prompt_messages(spec, record.problem), tokenize=False, add_generation_prompt=True
    )
    inputs = processor(text=[text], images=[record.image], return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=3, min_new_tokens=3, do_sample=False)
    assert output.shape[1] == inputs["input_ids"].shape[1] + 3


def test_cached_while_the_recipe_holds_rebuilt_under_a_new_one(built):
    cache, folder = built
    marker = folder / "marker"
    marker.write_text("kept while the recipe matches")
    steps = []
    assert ensure_warm_started(
        cache, seed=0, recipe=SMALL, on_step=lambda done, losses: steps.append(done)
    ) == folder and marker.exists()
    assert steps == []  # a cached model: no build, no progress

    changed = dataclasses.replace(SMALL, steps=3)
    assert changed.recipe_hash() != SMALL.recipe_hash()
    new_model = dataclasses.replace(SMALL, model=dataclasses.replace(SMALL_MODEL, corpus_seed=1))
    assert new_model.recipe_hash() != SMALL.recipe_hash()  # the tiny model's recipe counts
    rebuilt = ensure_warm_started(
        cache, seed=0, recipe=changed,
        on_step=lambda done, losses: steps.append((done, len(losses))),
    )
    assert steps == [(1, 1), (2, 2), (3, 3)]  # every step of the build, with its losses
    assert rebuilt != folder and read_warm_start_recipe(rebuilt)["recipe_hash"] == (
        changed.recipe_hash()
    )
    assert len(json.loads((rebuilt / STATS_FILE).read_text())["losses"]) == 3
    # Nothing left over from the staging folders.
    assert sorted(p.name for p in cache.iterdir()) == sorted([folder.name, rebuilt.name])
    marker.unlink()


def test_an_interrupted_build_is_not_taken_as_built(built, tmp_path):
    _, folder = built
    partial = warm_start_folder(tmp_path, seed=0, recipe=SMALL)
    partial.mkdir()
    (partial / "config.json").write_text("{}")  # what a killed build might leave
    assert ensure_warm_started(tmp_path, seed=0, recipe=SMALL) == partial
    assert (partial / RECIPE_FILE).is_file()
    # Same seed, same recipe: the same weights.
    first, again = load_file(folder / "model.safetensors"), load_file(partial / "model.safetensors")
    assert all(torch.equal(first[name], again[name]) for name in first)


def test_training_changed_the_weights_and_left_the_global_rng_alone(built, tmp_path):
    from rlvr.models import build_tiny_qwen2vl

    _, folder = built
    rng = torch.random.get_rng_state()
    ensure_warm_started(tmp_path, seed=1, recipe=dataclasses.replace(SMALL, steps=1))
    assert torch.equal(torch.random.get_rng_state(), rng)
    base = load_file(
        build_tiny_qwen2vl(tmp_path / "base", seed=0, config=SMALL_MODEL) / "model.safetensors"
    )
    trained = load_file(folder / "model.safetensors")
    assert base.keys() == trained.keys()
    assert not all(torch.equal(base[name], trained[name]) for name in base)


def test_labels_cover_only_the_completion(built):
    _, folder = built
    _, processor = load_model_and_processor(str(folder))
    spec = default_registry().get("synth_ground")
    records = load_records(spec, "train", limit=2)
    examples = [
        SupervisedExample(
            "synth_ground",
            prompt_messages(spec, r.problem),
            r.image,
            f"<think>t</think>{r.solution}",
        )
        for r in records
    ]
    batch = collate(processor, examples)
    assert batch["labels"].shape == batch["input_ids"].shape
    for row, record in enumerate(records):
        labelled = batch["labels"][row][batch["labels"][row] != IGNORE_INDEX]
        assert processor.tokenizer.decode(labelled) == f"<think>t</think>{record.solution}{IM_END}"
    # Right padding: the shorter row ends in padding that no label covers.
    assert (batch["attention_mask"][:, 0] == 1).all()


def test_recipe_reports_every_problem_and_refuses_other_domains(tmp_path):
    with pytest.raises(ValueError) as caught:
        WarmStartRecipe(steps=0, batch_size=0, learning_rate=-1.0, domains=())
    message = str(caught.value)
    assert all(word in message for word in ("steps", "batch_size", "learning_rate", "domains"))
    with pytest.raises(ValueError, match="must be synthetic; 'sat'"):
        ensure_warm_started(tmp_path, seed=0, recipe=dataclasses.replace(SMALL, domains=("sat",)))
    assert not any(tmp_path.iterdir())  # the staging folder is gone


class Killed(Exception):
    """Stands for a kill of the build process."""


def test_a_killed_build_continues_from_its_last_checkpoint_to_the_same_weights(tmp_path):
    recipe = dataclasses.replace(SMALL, steps=6)
    uninterrupted = ensure_warm_started(tmp_path / "whole", seed=0, recipe=recipe,
                                        checkpoint_every=0)

    def kill_at_step_5(done, losses):
        if done == 5:
            raise Killed

    cache = tmp_path / "killed"
    with pytest.raises(Killed):
        ensure_warm_started(cache, seed=0, recipe=recipe, checkpoint_every=2,
                            on_step=kill_at_step_5)
    checkpoints = warm_start_checkpoints(cache, seed=0, recipe=recipe, every=2)
    assert checkpoints.latest_step() == 4  # written atomically; the one of step 2 removed
    assert [p.name for p in checkpoints.folder.iterdir()] == ["step-0000004"]
    assert read_warm_start_recipe(warm_start_folder(cache, seed=0, recipe=recipe)) is None

    steps = []
    resumed = ensure_warm_started(cache, seed=0, recipe=recipe, checkpoint_every=2,
                                  on_step=lambda done, losses: steps.append((done, len(losses))))
    assert steps == [(5, 5), (6, 6)]  # continued after step 4, with the losses of steps 1-4
    whole, again = (load_file(f / "model.safetensors") for f in (uninterrupted, resumed))
    assert whole.keys() == again.keys()
    assert all(torch.allclose(whole[name], again[name], atol=1e-6) for name in whole)
    stats = json.loads((resumed / STATS_FILE).read_text())
    whole_stats = json.loads((uninterrupted / STATS_FILE).read_text())
    assert stats["resumed_from_step"] == 4 and len(stats["losses"]) == 6
    assert stats["losses"] == pytest.approx(whole_stats["losses"], abs=1e-4)
    # Finished: the checkpoints are gone and the cache is recognised as built.
    assert not checkpoints.folder.exists()
    assert sorted(p.name for p in cache.iterdir()) == [resumed.name]
    assert ensure_warm_started(cache, seed=0, recipe=recipe, on_step=kill_at_step_5) == resumed


def test_a_build_prints_plain_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    ensure_warm_started(tmp_path, seed=0, recipe=dataclasses.replace(SMALL, steps=2),
                        progress_interval_s=0)
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("warm start:")]
    assert len(lines) == 2
    assert lines[0].startswith("warm start: step 1/2 (50%), loss ") and "left ~" in lines[0]
    assert lines[1].startswith("warm start: step 2/2 (100%), loss ") and "done" in lines[1]
