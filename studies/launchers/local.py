"""The `local` launcher: one subprocess per trial on this machine (``studies.trial_process``).

GPUs are shared out through ``CUDA_VISIBLE_DEVICES`` (``gpus_per_trial`` each; 0 for CPU
trials), and every trial gets its own free ``MASTER_PORT`` so concurrent distributed or
vLLM-colocated trials never collide. A trial runs in its own session (process group): it
survives its driver, a later driver polls it again through its handle (pid, process start
time, folder, run id).

When an attempt ends in any way (its outcome written, its process dead without one, cancelled)
the whole process group is ended (SIGTERM, SIGKILL after a grace period) before its GPUs are
handed to another trial: a killed trial process leaves no training behind. Only the outcome of
the handle's own run is read (`read_outcome` with the run id).
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
from studies.trial_process import ForeignOutcomeError, OutcomeFileError, read_outcome

KILL_GRACE_S = 10.0  # SIGTERM -> SIGKILL
SETTLE_S = 2.0  # a trial process that wrote its outcome is let exit by itself this long
REAP_WAIT_S = 5.0  # after SIGKILL


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


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`, from ``/proc`` (Linux).

    Elsewhere: ``[pgid]`` while ``killpg(pgid, 0)`` finds the group, else ``[]``."""
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                state, _ppid, pgrp = f.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _wait_empty(pgid: int, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def end_group(pgid: int, *, grace_s: float = KILL_GRACE_S, settle_s: float = 0.0) -> list[int]:
    """End process group `pgid`: wait `settle_s` for it to exit by itself, then SIGTERM, then
    SIGKILL what is left after `grace_s`. Returns the pids still alive after that (normally
    none; a process in uninterruptible sleep may linger)."""
    if not _wait_empty(pgid, settle_s):
        return []
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, REAP_WAIT_S)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return []
        except PermissionError:  # not ours (cannot happen for a group we started)
            return group_members(pgid)
        if not _wait_empty(pgid, wait_s):
            return []
    return group_members(pgid)


class LocalLauncher:
    """Runs trials as local subprocesses.

    Raises (on construction):
        MixoptError: more GPUs per trial than there are GPUs.
    """

    def __init__(self, settings: LocalSettings, *, study_dir: Path,
                 gpus: list[int] | None = None, kill_grace_s: float = KILL_GRACE_S) -> None:
        self.settings = settings
        self.study_dir = study_dir
        self.kill_grace_s = kill_grace_s
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
        # process group -> GPUs of an ended attempt whose processes outlived SIGKILL
        self._draining: dict[int, list[int]] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def capacity(self) -> int | None:
        per = self.settings.gpus_per_trial
        return None if per == 0 else len(self.gpus) // per

    def _allocate(self) -> list[int]:
        for pgid in [p for p in self._draining if not group_members(p)]:
            del self._draining[pgid]
        busy = {g for used in (*self._in_use.values(), *self._draining.values()) for g in used}
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
        cmd = [sys.executable, "-m", "studies.trial_process", str(trial_dir / TRIAL_FILE),
               "--run-id", spec.run_id]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=trial_dir, start_new_session=True)
        log.close()
        self._children[proc.pid] = proc
        self._in_use[str(trial_dir)] = gpus
        return {"kind": "local", "pid": proc.pid, "start_time": process_start_time(proc.pid),
                "trial_dir": str(trial_dir), "gpus": gpus, "master_port": port,
                "run_id": spec.run_id}

    def adopt(self, handle: Mapping[str, Any]) -> None:
        self._in_use[str(handle["trial_dir"])] = list(handle.get("gpus", []))

    def _alive(self, handle: Mapping[str, Any]) -> bool:
        pid = int(handle["pid"])
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        return pid_alive(pid) and process_start_time(pid) == handle.get("start_time")

    def _group_is_ours(self, handle: Mapping[str, Any]) -> bool:
        """Whether process group ``pid`` is still the attempt's: its leader is the handle's
        process, or is gone (a group outlives its leader, and its id is not reused while it
        has members), not another process that reuses the pid."""
        start = process_start_time(int(handle["pid"]))
        return start is None or start == handle.get("start_time")

    def poll(self, handle: Mapping[str, Any]) -> Poll:
        trial_dir = Path(handle["trial_dir"])
        if str(trial_dir) not in self._in_use:
            self.adopt(handle)  # a trial started by an earlier driver
        try:
            # A handle of an earlier version has no run id: its outcome is read unchecked.
            outcome = read_outcome(trial_dir, run_id=handle.get("run_id"))
        except ForeignOutcomeError as err:
            if self._alive(handle):
                return Poll("running")  # it will write its own outcome over the stale one
            return self._ended(handle, Poll("failed", reason=str(err)))
        except OutcomeFileError as err:
            return self._ended(handle, Poll("failed", reason=str(err)))
        if outcome is None and self._alive(handle):
            return Poll("running")
        if outcome is None:
            return self._ended(handle, Poll(
                "failed", reason=f"the trial process exited without writing an outcome "
                f"(see {trial_dir / 'trial.log'})"))
        if outcome["status"] == "completed":
            return self._ended(handle, Poll("completed", metrics=outcome["metrics"]),
                               settle_s=SETTLE_S)
        return self._ended(handle, Poll("failed", reason=str(outcome.get("reason", ""))),
                           settle_s=SETTLE_S)

    def _ended(self, handle: Mapping[str, Any], poll: Poll, *, settle_s: float = 0.0) -> Poll:
        """End the attempt's process group, then free its GPUs (kept reserved while a process
        of it survives SIGKILL); reap the child."""
        pgid = int(handle["pid"])
        left = (end_group(pgid, grace_s=self.kill_grace_s, settle_s=settle_s)
                if self._group_is_ours(handle) else [])
        gpus = self._in_use.pop(str(handle["trial_dir"]), None)
        if left:
            self._draining[pgid] = list(gpus or [])
            poll = Poll(poll.state, metrics=poll.metrics, reason=(
                f"{poll.reason}; processes {left} of the attempt outlived SIGKILL, its GPUs "
                "stay reserved until they end").lstrip("; "))
        child = self._children.pop(pgid, None)
        if child is not None:
            child.poll()  # reap
        return poll

    def cancel(self, handle: Mapping[str, Any]) -> None:
        self._ended(handle, Poll("failed"))

    def close(self) -> None:
        """Trials keep running (their own sessions); a later driver adopts them."""
