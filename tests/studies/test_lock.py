from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from studies.lock import StudyLock, StudyLockedError


def test_second_lock_refused_then_free_after_release(tmp_path):
    path = tmp_path / "driver.lock"
    first = StudyLock(path)
    first.acquire()
    with pytest.raises(StudyLockedError, match=r"pid \d+ on"):
        StudyLock(path).acquire()
    first.renew()
    first.release()
    assert not path.exists()
    with StudyLock(path):
        assert path.exists()


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "driver.lock"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(json.dumps({"owner": "x", "pid": dead.pid, "host": socket.gethostname(),
                                "expires_at": time.time() + 3600}))
    lock = StudyLock(path)
    lock.acquire()
    assert json.loads(path.read_text())["owner"] == lock.owner


def test_expired_lease_of_another_host_is_taken_over(tmp_path):
    path = tmp_path / "driver.lock"
    path.write_text(json.dumps({"owner": "x", "pid": 1, "host": "elsewhere",
                                "expires_at": time.time() - 1}))
    StudyLock(path).acquire()
    path.write_text(json.dumps({"owner": "y", "pid": 1, "host": "elsewhere",
                                "expires_at": time.time() + 60}))
    with pytest.raises(StudyLockedError, match="elsewhere"):
        StudyLock(path).acquire()


def test_renew_fails_when_another_driver_took_over(tmp_path):
    path = tmp_path / "driver.lock"
    lock = StudyLock(path)
    lock.acquire()
    path.write_text(json.dumps({"owner": "thief", "pid": 1, "host": "h", "expires_at": 0}))
    with pytest.raises(StudyLockedError, match="lost"):
        lock.renew()


def test_half_written_lock_file_counts_as_free(tmp_path):
    path = tmp_path / "driver.lock"
    path.write_text("{trunc")
    StudyLock(path).acquire()
