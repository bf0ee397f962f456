"""Launchers: what runs a trial (`base.Launcher`), and `make_launcher` for a study config."""

from __future__ import annotations

from studies.config import StudyConfig
from studies.launchers.base import Launcher, Poll, TrialSpec

__all__ = ["Launcher", "Poll", "TrialSpec", "make_launcher"]


def make_launcher(config: StudyConfig) -> Launcher:
    """The launcher the config names.

    Raises:
        MixoptError: a function target that cannot be loaded, submitit missing for slurm.
    """
    settings = config.launcher
    if settings.kind == "function":
        from studies.launchers.function import FunctionLauncher, load_target

        fidelity = config.search.fidelity
        return FunctionLauncher(load_target(settings.target),
                                checkpoints=None if fidelity is None else fidelity.checkpoints)
    if settings.kind == "local":
        from studies.launchers.local import LocalLauncher

        return LocalLauncher(settings, study_dir=config.study_dir)
    from studies.launchers.slurm import SlurmLauncher

    return SlurmLauncher(settings, study_dir=config.study_dir)
