"""Drivers that find the same stale lock at the same moment: exactly one takes it over (real
processes, repeated)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ROUNDS = 20
DRIVERS = 4
# Each process waits for `go`, tries the lock, says whether it got it, then holds it (no
# release) until `done`: a second holder can only come from a double takeover.
WORKER = """
import sys, time
from pathlib import Path
from studies.lock import StudyLock, StudyLockedError
lock_path, folder, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
(folder / f"ready-{name}").touch()
while not (folder / "go").exists():
    time.sleep(0.0005)
try:
    StudyLock(lock_path).acquire()
    got = "1"
except StudyLockedError:
    got = "0"
(folder / f".got-{name}").write_text(got)
(folder / f".got-{name}").rename(folder / f"got-{name}")
while not (folder / "done").exists():
    time.sleep(0.01)
"""


def _stale_lock(path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(json.dumps({"owner": "dead", "pid": dead.pid, "host": socket.gethostname(),
                                "expires_at": time.time() + 3600}))


def _wait_for_files(folder: Path, pattern: str, timeout_s: float = 60.0) -> None:
    """Until `folder` holds `DRIVERS` files matching `pattern`."""
    deadline = time.time() + timeout_s
    while len(list(folder.glob(pattern))) < DRIVERS:
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def test_only_one_of_several_drivers_takes_over_a_stale_lock(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    winners = []
    for round_ in range(ROUNDS):
        folder = tmp_path / f"round-{round_}"
        folder.mkdir()
        lock = folder / "driver.lock"
        _stale_lock(lock)
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(lock), str(folder),
                                   str(i)], env=env, cwd=REPO) for i in range(DRIVERS)]
        try:
            _wait_for_files(folder, "ready-*")
            (folder / "go").touch()
            _wait_for_files(folder, "got-*")
            winners.append(sum(int(p.read_text()) for p in folder.glob("got-*")))
        finally:
            (folder / "done").touch()
            for p in procs:
                p.wait(timeout=60)
    assert winners == [1] * ROUNDS, f"holders per round: {winners}"
