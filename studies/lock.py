"""One driver per study: a lock file with a lease in the study's folder.

The driver holding the lock renews its lease while it runs. A second driver refuses to start
while the lease is valid; a lease that has expired, or whose holder is a process of this host
that no longer exists, is taken over, so a crashed driver never blocks a study for long.
Every look at the lock file that may change it (take, take over, renew, release) happens
under an exclusive ``fcntl.flock`` of a guard file beside it (``.driver.lock.guard``, never
deleted): two drivers that find the same stale lock cannot both take it over, and a renewal
cannot overwrite a takeover. The kernel drops a dead process's flock, so the guard itself is
never stale. (On NFS, flock is only as good as the server's locking.)
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from mixopt.errors import MixoptError

DEFAULT_LEASE_S = 120.0


class StudyLockedError(MixoptError):
    """Another driver holds the study's lock."""


class StudyLock:
    """The driver lock of one study folder.

    Args:
        path: the lock file (``<study dir>/driver.lock``).
        lease_s: how long the lock stays valid without renewal.
    """

    def __init__(self, path: Path, lease_s: float = DEFAULT_LEASE_S) -> None:
        self.path, self.lease_s = Path(path), lease_s
        self.owner = uuid.uuid4().hex
        self._held = False

    def _content(self) -> dict[str, object]:
        return {
            "owner": self.owner, "pid": os.getpid(), "host": socket.gethostname(),
            "expires_at": time.time() + self.lease_s,
        }

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            StudyLockedError: another live driver holds it (the message says which and until
                when).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard():
            holder = self._read() if self.path.exists() else None
            if holder is not None and _alive(holder):
                left = float(holder.get("expires_at", 0)) - time.time()
                raise StudyLockedError(
                    f"study is being run by another driver (pid {holder.get('pid')} on "
                    f"{holder.get('host')}, lease valid {left:.0f} s more; lock file "
                    f"{self.path}); stop it, or wait for its lease to expire"
                )
            self._write()  # free, half-written, expired or of a dead process: ours now
        self._held = True

    def renew(self) -> None:
        """Extend the lease. Raises StudyLockedError if another driver has taken the lock."""
        with self._guard():
            holder = self._read()
            if holder is None or holder.get("owner") != self.owner:
                self._held = False
                raise StudyLockedError(
                    f"this driver lost the study's lock ({self.path}) to another driver"
                )
            self._write()

    def release(self) -> None:
        if self._held:
            with self._guard():
                if (self._read() or {}).get("owner") == self.owner:
                    self.path.unlink(missing_ok=True)
        self._held = False

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Hold the exclusive flock of the guard file beside the lock (waits for another
        driver's look at the lock: milliseconds)."""
        guard = self.path.with_name(f".{self.path.name}.guard")
        fd = os.open(guard, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the flock

    def _write(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{self.owner}")
        tmp.write_text(json.dumps(self._content()), encoding="utf-8")
        os.replace(tmp, self.path)

    def _read(self) -> dict[str, object] | None:
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing or half-written: treat as free
        return content if isinstance(content, dict) else None

    def __enter__(self) -> StudyLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _alive(holder: dict[str, object]) -> bool:
    """Whether the holder's lease still counts."""
    if float(holder.get("expires_at", 0)) < time.time():  # type: ignore[arg-type]
        return False
    if holder.get("host") == socket.gethostname():
        return pid_alive(int(holder.get("pid", -1)))  # type: ignore[call-overload]
    return True


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this host (zombies count as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
