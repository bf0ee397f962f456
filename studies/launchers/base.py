"""The seam between the study driver and whatever runs a trial (Ax's runner, in spirit).

A launcher submits a trial and returns a *handle*: a JSON-serializable dict that the driver
stores in the ledger, so that a driver started later (after a crash) can poll the same trial
again. What a trial produces crosses back as a versioned file or a metrics dict, never a log
line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

PollState = Literal["running", "completed", "failed", "lost"]


@dataclass(frozen=True)
class TrialSpec:
    """What a launcher needs to run one attempt (JSON-serializable: ``dataclasses.asdict``).

    Attributes:
        study: the study's name.
        index, attempt: the trial and its attempt number.
        weights: domain name -> weight.
        seed: the training seed (passed to a function as ``seed=``).
        run_id: the attempt's MLflow run (trainer and evaluator log into it).
        trial_dir: the attempt's folder (job file, logs, result files), absolute.
        proxy: the proxy (``search.proxies``) the attempt trains, "" for the target (a
            function then gets ``proxy=NAME``; a job, the proxy's train overrides).
    """

    study: str
    index: int
    attempt: int
    weights: Mapping[str, float]
    seed: int
    run_id: str
    trial_dir: str
    proxy: str = ""


@dataclass(frozen=True)
class Poll:
    """A trial's state as its launcher sees it.

    ``completed`` carries the trial's `metrics`; ``failed`` a `reason`; ``lost`` means the
    launcher cannot find the trial any more (its driver died and took it along).
    """

    state: PollState
    metrics: Mapping[str, float] = field(default_factory=dict)
    reason: str = ""


class Launcher(Protocol):
    """Runs trials. Implementations: `FunctionLauncher`, `LocalLauncher`, `SlurmLauncher`."""

    @property
    def capacity(self) -> int | None:
        """Most trials this launcher can run at once (None: no limit of its own)."""
        ...

    def submit(self, spec: TrialSpec) -> dict[str, Any]:
        """Start the trial; returns its handle (JSON-serializable)."""
        ...

    def poll(self, handle: Mapping[str, Any]) -> Poll:
        """The trial's state now. Never raises for a trial that went wrong: returns failed."""
        ...

    def cancel(self, handle: Mapping[str, Any]) -> None:
        """Stop the trial (best effort; idempotent)."""
        ...

    def close(self) -> None:
        """Release what the launcher holds (threads, executors); running trials may go on."""
        ...
