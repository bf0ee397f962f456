"""The demo's base model ships with the code: the default recipe's build of seed 0 is present,
current (its recipe hash is the recipe's), copied into a cache instead of built, and loads."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub when first imported

import pytest

from rlvr.models import load_model_and_processor, warm_start
from rlvr.models.warm_start import (
    PREBUILT_DIR,
    WarmStartRecipe,
    ensure_warm_started,
    read_warm_start_recipe,
    warm_start_folder,
)


def _no_build(*args, **kwargs):
    raise AssertionError("built instead of copying the shipped build")


def test_the_shipped_build_is_the_default_recipes():
    shipped = warm_start_folder(PREBUILT_DIR, seed=0, recipe=WarmStartRecipe())
    record = read_warm_start_recipe(shipped)
    assert record is not None, (
        f"no shipped build of the default warm-start recipe at {shipped}: the recipe (or the "
        "tiny model's, or the generators') changed; run scripts/build_demo_base.py")
    assert record["recipe_hash"] == WarmStartRecipe().recipe_hash() and record["seed"] == 0
    assert [p.name for p in PREBUILT_DIR.iterdir()] == [shipped.name]  # no stale builds


def test_a_cache_gets_a_copy_of_the_shipped_build_that_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(warm_start, "build_warm_started", _no_build)
    folder = ensure_warm_started(tmp_path / "cache", seed=0)
    assert folder == warm_start_folder(tmp_path / "cache", seed=0, recipe=WarmStartRecipe())
    shipped = warm_start_folder(PREBUILT_DIR, seed=0, recipe=WarmStartRecipe())
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in shipped.iterdir())
    for item in shipped.iterdir():
        assert (folder / item.name).read_bytes() == item.read_bytes()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left
    model, processor = load_model_and_processor(str(folder))
    assert model.config.text_config.hidden_size == WarmStartRecipe().model.hidden_size
    assert processor.tokenizer is not None
    assert ensure_warm_started(tmp_path / "cache", seed=0) == folder  # cached now


@pytest.mark.parametrize("case", ["another seed", "no shipped builds"])
def test_what_is_not_shipped_is_built(tmp_path, monkeypatch, case):
    class Built(Exception):
        pass

    def build(*args, **kwargs):
        raise Built

    monkeypatch.setattr(warm_start, "build_warm_started", build)
    seed, prebuilt = (1, PREBUILT_DIR) if case == "another seed" else (0, None)
    with pytest.raises(Built):
        ensure_warm_started(tmp_path, seed=seed, prebuilt=prebuilt)
