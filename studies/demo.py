"""The embedded demo: a real study on a laptop CPU (`mixopt demo`, `make demo`).

`prepare_demo` builds (or reuses, or copies the build shipped with the code) the warm-started
tiny model and writes the demo study's
config with its path filled in; the study itself is an ordinary one
(`studies/examples/demo_synthetic.yaml`) run by the ordinary driver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlvr.atomic_write import write_text_atomic

DEMO_TEMPLATE = Path(__file__).parent / "examples" / "demo_synthetic.yaml"
DEMO_CONFIG = "demo.yaml"


@dataclass(frozen=True)
class DemoSettings:
    """What a demo run may change in the template (None: the template's value).

    Attributes:
        max_trials, max_steps, limit, parallelism: search.max_trials, train.max_steps,
            eval.limit and search.parallelism.
        seed: seed of the base model's weights and warm start.
        warm_start: the base model's recipe (tests use a few steps); None: the default.
        build_base: train the base model here even where the code ships a build of its
            recipe and seed (`rlvr.models.warm_start.PREBUILT_DIR`).
    """

    max_trials: int | None = None
    max_steps: int | None = None
    limit: int | None = None
    parallelism: int | None = None
    seed: int = 0
    warm_start: Any = None  # a `rlvr.models.warm_start.WarmStartRecipe`; None: its default
    build_base: bool = False


def trial_budget(train: dict[str, Any]) -> int:
    """Prompts for ``train.max_steps`` GRPO steps of the config's ``train`` section: each step
    takes ``per_device_train_batch_size / num_generations`` prompts (at least 1 in all)."""
    grpo = train["grpo"]
    return max(1, train["max_steps"] * (grpo["per_device_train_batch_size"]
                                        // grpo["num_generations"]))


def demo_config_data(model: Path, out: Path, settings: DemoSettings) -> dict[str, Any]:
    """The template's content with the model, the workdir and `settings` filled in."""
    data = yaml.safe_load(DEMO_TEMPLATE.read_text(encoding="utf-8"))
    data["train"]["model"] = str(model.absolute())
    data["workdir"] = str(out.absolute())
    if settings.max_trials is not None:
        data["search"]["max_trials"] = settings.max_trials
    if settings.parallelism is not None:
        data["search"]["parallelism"] = settings.parallelism
    if settings.max_steps is not None:
        data["train"]["max_steps"] = settings.max_steps
        data["train"]["budget"] = trial_budget(data["train"])
    if settings.limit is not None:
        data["eval"]["limit"] = settings.limit
    return data


def prepare_demo(
    out: Path,
    settings: DemoSettings | None = None,
    on_base_step: Callable[[int, list[float]], None] | None = None,
) -> Path:
    """Build or reuse the warm-started base model under ``out/models`` and write
    ``out/demo.yaml``; returns the config's path. ``on_base_step(steps_done, losses)`` follows
    a build of the base model (progress display).

    Raises:
        rlvr errors: the synthetic domains or the model cannot be built.
    """
    from rlvr.models.warm_start import PREBUILT_DIR, ensure_warm_started

    settings = settings or DemoSettings()
    out.mkdir(parents=True, exist_ok=True)
    model = ensure_warm_started(
        out / "models", seed=settings.seed, recipe=settings.warm_start, on_step=on_base_step,
        prebuilt=None if settings.build_base else PREBUILT_DIR,
    )
    data = demo_config_data(model, out, settings)
    return write_text_atomic(out / DEMO_CONFIG, yaml.safe_dump(data, sort_keys=False))
