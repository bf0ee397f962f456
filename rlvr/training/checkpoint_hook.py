"""`CheckpointHookCallback`: a checkpoint at fractions of a run, and a command run on each.

The job's ``checkpoint_hook`` (`rlvr.job.CheckpointHookSettings`) names fractions of the run's
optimizer steps and a command. At the step of each fraction the trainer is told to save (its
own ``checkpoint-<step>`` folder, written as at ``save_steps``: model, processor, optimizer and
trainer state, so that a run resumes there too); once saved, the main process runs the command
with ``{checkpoint}``, ``{step}`` and ``{fraction}`` filled in and waits for it. The command's
output goes where the trainer's goes. The trainer knows nothing of what the command does: a
study passes its checkpoint evaluation (`studies.checkpoint_eval`), which writes its own file.

Under ``accelerate launch`` the other processes wait at a barrier while the command runs, so
it must end within the process group's timeout (``ddp_timeout``, 30 minutes by default).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import torch.distributed as dist
from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from rlvr.job import CheckpointHookSettings
from rlvr.training.errors import TrainingError


class CheckpointHookError(TrainingError):
    """The checkpoint hook's command could not be started or exited with a nonzero code."""


def hook_steps(fractions: tuple[float, ...], max_steps: int) -> dict[int, list[float]]:
    """Step -> the fractions evaluated there: ``max(1, round(f * max_steps))`` for each `f`
    (fractions that round to one step share it, in order)."""
    steps: dict[int, list[float]] = {}
    for f in fractions:
        steps.setdefault(min(max_steps, max(1, round(f * max_steps))), []).append(f)
    return steps


def hook_command(command: tuple[str, ...], checkpoint: Path, step: int,
                 fraction: float) -> list[str]:
    """`command` with ``{checkpoint}``, ``{step}`` and ``{fraction}`` replaced in every
    argument (``{fraction}`` as ``repr`` of the float: it reads back exactly)."""
    values = {"{checkpoint}": str(checkpoint), "{step}": str(step),
              "{fraction}": repr(float(fraction))}
    out = []
    for part in command:
        for key, value in values.items():
            part = part.replace(key, value)
        out.append(part)
    return out


class CheckpointHookCallback(TrainerCallback):
    """Saves at the hook's steps and runs its command on each saved checkpoint (see module).

    A resumed run hands the checkpoint it resumes from to the command again when that is a
    hook step (the interrupted attempt may have died during the command: each checkpoint is
    handed over at least once, and the command skips what it has done); earlier hook steps
    are not run again (their weights are gone by then).
    """

    def __init__(self, settings: CheckpointHookSettings) -> None:
        self.settings = settings
        self.pending: dict[int, list[float]] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        if state.max_steps <= 0:
            return
        self.pending = {s: f for s, f in hook_steps(self.settings.fractions,
                                                    state.max_steps).items()
                        if s >= state.global_step}
        if state.global_step in self.pending and checkpoint_folder(args, state).is_dir():
            self._run(args, state)  # resumed from a hook step's checkpoint

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in self.pending:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        if state.global_step in self.pending:
            self._run(args, state)

    def _run(self, args, state) -> None:
        fractions = self.pending.pop(state.global_step)
        if state.is_world_process_zero:
            for fraction in fractions:
                run_hook(self.settings.command, checkpoint_folder(args, state),
                         state.global_step, fraction)
        if dist.is_available() and dist.is_initialized():
            dist.barrier()  # the other processes wait for the command to end


def checkpoint_folder(args, state) -> Path:
    """The trainer's checkpoint folder of the current step."""
    return Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"


def run_hook(command: tuple[str, ...], checkpoint: Path, step: int, fraction: float) -> None:
    """Run the hook's command on `checkpoint` and wait for it.

    Raises:
        CheckpointHookError: the program cannot be started, or exits with a nonzero code.
    """
    cmd = hook_command(command, checkpoint, step, fraction)
    try:
        code = subprocess.run(cmd, check=False).returncode
    except OSError as err:
        raise CheckpointHookError(f"checkpoint_hook.command: cannot run {cmd[0]!r} ({err})") \
            from None
    if code != 0:
        raise CheckpointHookError(
            f"checkpoint_hook.command exited with code {code} on {checkpoint} (step {step}, "
            f"fraction {fraction:g}): {' '.join(cmd)}")
