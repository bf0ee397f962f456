"""The `local` launcher: one subprocess per trial on this machine (``studies.trial_process``).

GPUs are shared out through ``CUDA_VISIBLE_DEVICES`` (``gpus_per_trial`` each; 0 for CPU
trials), and every trial gets its own free ``MASTER_PORT`` so concurrent distributed or
vLLM-colocated trials never collide. A trial runs in its own session (process group): it
survives its driver, a later driver polls it again through its handle (pid, process start
time, folder), and cancelling kills the whole group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixopt.errors import MixoptError
from studies.config import LocalLauncher as LocalSettings
from studies.launchers.base import Poll, TrialSpec
from studies.lock import pid_alive
from studies.trial_files import TRIAL_FILE
from studies.trial_process import OutcomeFileError, read_outcome

KILL_GRACE_S = 10.0


def visible_gpus() -> list[int]:
    """GPU ids this process may use (respects an outer ``CUDA_VISIBLE_DEVICES``)."""
    outer = os.environ.get("CUDA_VISIBLE_DEVICES")
    if outer is not None:
        return [int(x) for x in outer.split(",") if x.strip().isdigit()]
    try:
        import torch

        return list(range(torch.cuda.device_count()))
    except Exception:
        return []


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_start_time(pid: int) -> str | None:
    """The start time of `pid` in clock ticks since boot (tells a pid from its reuse)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class LocalLauncher:
    """Runs trials as local subprocesses.

    Raises (on construction):
        MixoptError: more GPUs per trial than there are GPUs.
    """

    def __init__(self, settings: LocalSettings, *, study_dir: Path,
                 gpus: list[int] | None = None) -> None:
        self.settings = settings
        self.study_dir = study_dir
        if gpus is not None:
            self.gpus = list(gpus)
        elif settings.gpus == "auto":
            self.gpus = visible_gpus() if settings.gpus_per_trial > 0 else []
        else:
            self.gpus = list(settings.gpus)
        if settings.gpus_per_trial > len(self.gpus) and settings.gpus_per_trial > 0:
            raise MixoptError(
                f"launcher.gpus_per_trial is {settings.gpus_per_trial} but {len(self.gpus)} "
                f"GPU(s) are available ({self.gpus}); set gpus_per_trial: 0 to train on CPU"
            )
        self._in_use: dict[str, list[int]] = {}  # trial dir -> its GPUs
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def capacity(self) -> int | None:
        per = self.settings.gpus_per_trial
        return None if per == 0 else len(self.gpus) // per

    def _allocate(self) -> list[int]:
        busy = {g for used in self._in_use.values() for g in used}
        free = [g for g in self.gpus if g not in busy]
        per = self.settings.gpus_per_trial
        if len(free) < per:
            raise MixoptError(f"no {per} free GPU(s) for another trial (busy: {sorted(busy)})")
        return free[:per]

    def submit(self, spec: TrialSpec) -> dict[str, Any]:
        trial_dir = Path(spec.trial_dir)
        gpus = self._allocate()
        port = free_port()
        env = {**os.environ, **self.settings.env, "MASTER_PORT": str(port),
               "CUDA_VISIBLE_DEVICES": ",".join(map(str, gpus))}
        log = (trial_dir / "trial.log").open("ab")
        cmd = [sys.executable, "-m", "studies.trial_process", str(trial_dir / TRIAL_FILE)]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=trial_dir, start_new_session=True)
        log.close()
        self._children[proc.pid] = proc
        self._in_use[str(trial_dir)] = gpus
        return {"kind": "local", "pid": proc.pid, "start_time": process_start_time(proc.pid),
                "trial_dir": str(trial_dir), "gpus": gpus, "master_port": port}

    def adopt(self, handle: Mapping[str, Any]) -> None:
        self._in_use[str(handle["trial_dir"])] = list(handle.get("gpus", []))

    def _alive(self, handle: Mapping[str, Any]) -> bool:
        pid = int(handle["pid"])
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        return pid_alive(pid) and process_start_time(pid) == handle.get("start_time")

    def poll(self, handle: Mapping[str, Any]) -> Poll:
        trial_dir = Path(handle["trial_dir"])
        if str(trial_dir) not in self._in_use:
            self.adopt(handle)  # a trial started by an earlier driver
        try:
            outcome = read_outcome(trial_dir)
        except OutcomeFileError as err:
            return self._ended(handle, Poll("failed", reason=str(err)))
        if outcome is None and self._alive(handle):
            return Poll("running")
        if outcome is None:
            return self._ended(handle, Poll(
                "failed", reason=f"the trial process exited without writing an outcome "
                f"(see {trial_dir / 'trial.log'})"))
        if outcome["status"] == "completed":
            return self._ended(handle, Poll("completed", metrics=outcome["metrics"]))
        return self._ended(handle, Poll("failed", reason=str(outcome.get("reason", ""))))

    def _ended(self, handle: Mapping[str, Any], poll: Poll) -> Poll:
        self._in_use.pop(str(handle["trial_dir"]), None)
        child = self._children.pop(int(handle["pid"]), None)
        if child is not None:
            child.poll()  # reap
        return poll

    def cancel(self, handle: Mapping[str, Any]) -> None:
        pid = int(handle["pid"])
        if not self._alive(handle):
            return
        try:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.time() + KILL_GRACE_S
            while time.time() < deadline and self._alive(handle):
                time.sleep(0.1)
            if self._alive(handle):
                os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._ended(handle, Poll("failed"))

    def close(self) -> None:
        """Trials keep running (their own sessions); a later driver adopts them."""
