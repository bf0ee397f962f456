"""Checkpoints of a plain PyTorch training loop, so that a killed run continues where it was.

`StepCheckpoints` keeps the latest state of a loop (model, optimizer and scheduler state, the
step, the losses so far, the torch CPU RNG) in ``folder/step-<step>/``. A
checkpoint is written into a temporary sibling and renamed into place, so a kill never leaves
a half-written one; older checkpoints are removed after a newer one is in place. Each
checkpoint carries a ``key`` (the recipe and seed of the run): a checkpoint of another run is
never restored.

Used by the warm start (`rlvr.models.warm_start`); the GRPO trainer has TRL's own checkpoints.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "state.pt"
_PREFIX = "step-"
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restored:
    """What a restored checkpoint gives back besides the states loaded in place."""

    step: int
    losses: list[float]


class StepCheckpoints:
    """The checkpoints of one run in ``folder`` (created on the first save).

    Args:
        folder: where the checkpoints live.
        key: identifies the run (e.g. recipe hash and seed); checkpoints with another key are
            ignored.
        every: save every this many steps (0: never).

    Raises:
        ValueError: ``every`` < 0.
    """

    def __init__(self, folder: Path, *, key: str, every: int) -> None:
        if every < 0:
            raise ValueError(f"checkpoint every must be >= 0 steps, got {every}")
        self.folder = Path(folder)
        self.key = key
        self.every = every

    def due(self, step: int, total: int) -> bool:
        """Whether to save after ``step`` steps of ``total`` (never after the last one: the
        finished result is saved by the caller)."""
        return self.every > 0 and step % self.every == 0 and step < total

    def latest(self) -> Path | None:
        """The newest checkpoint folder, or None."""
        if not self.folder.is_dir():
            return None
        found = sorted(
            p for p in self.folder.glob(f"{_PREFIX}*") if (p / STATE_FILE).is_file()
        )
        return found[-1] if found else None

    def latest_step(self) -> int:
        """The step of the newest checkpoint; 0 without one."""
        latest = self.latest()
        return int(latest.name.removeprefix(_PREFIX)) if latest is not None else 0

    def save(
        self,
        step: int,
        *,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        losses: list[float],
    ) -> Path:
        """Write the checkpoint of ``step`` atomically, then remove older ones; its folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{_PREFIX}{step:07d}"
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=self.folder))
        try:
            state = {
                "key": self.key,
                "step": step,
                "losses": list(losses),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.random.get_rng_state(),
            }
            torch.save(state, staging / STATE_FILE)
            if target.exists():  # another process of the same run was there first
                shutil.rmtree(staging)
            else:
                staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        for older in self.folder.glob(f"{_PREFIX}*"):
            if older.name < target.name:
                shutil.rmtree(older, ignore_errors=True)
        return target

    def restore(
        self, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any
    ) -> Restored | None:
        """Load the newest checkpoint of this run into ``model``, ``optimizer``, ``scheduler``
        and the torch CPU RNG; None (nothing changed) without one."""
        latest = self.latest()
        if latest is None:
            return None
        state = torch.load(latest / STATE_FILE, map_location="cpu", weights_only=True)
        if state.get("key") != self.key:
            _LOG.warning("%s is a checkpoint of another run; starting over", latest)
            return None
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.random.set_rng_state(state["torch_rng"])
        return Restored(step=state["step"], losses=list(state["losses"]))

    def clear(self) -> None:
        """Remove every checkpoint of this run (its result is saved)."""
        shutil.rmtree(self.folder, ignore_errors=True)
