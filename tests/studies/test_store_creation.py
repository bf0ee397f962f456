"""A new study's MLflow store under `kill -9` and two drivers started at the same instant.

Real processes and real sqlite stores. The kills land at random moments (seeded) of store
creation, which takes a second or two (MLflow's schema migration): every store must open
afterwards. Two drivers released at once: one runs the study, the other refuses in one line.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studies.ledger import Ledger
from tests.studies.study_files import function_study

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
KILLS = 20
SEED = 15


def _create_store(db: Path) -> None:
    Ledger(f"sqlite:///{db}", "mixopt-studies", "killed")


def _serve_kills(folder: Path, n: int, seed: int) -> dict[str, object]:
    """Fork `n` children that create a store each, kill -9 each after a random delay.

    Runs in a helper process that has imported MLflow already, so that a child starts
    creating its store at once and the delays fall inside the creation itself. The delays
    are drawn from [0, 1.1 x the time of one uninterrupted creation]; two children run at
    once, so each takes longer than alone and every kill lands early enough.
    """
    def forked(db: Path) -> int:
        pid = os.fork()
        if pid == 0:  # the child: create the store, then leave without cleanup
            try:
                _create_store(db)
            finally:
                os._exit(0)
        return pid

    started = time.perf_counter()
    os.waitpid(forked(folder / "calibration" / "mlflow.db"), 0)
    creation_s = time.perf_counter() - started
    rng = random.Random(seed)
    killed = 0
    for first in range(0, n, 2):  # two at a time (two cores): half the wall time
        t0 = time.perf_counter()
        pending = sorted((rng.uniform(0.0, 1.1 * creation_s),
                          forked(folder / f"store{i:02d}" / "mlflow.db"))
                         for i in range(first, min(first + 2, n)))
        for delay, pid in pending:
            time.sleep(max(0.0, t0 + delay - time.perf_counter()))
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            killed += os.WIFSIGNALED(status)
    return {"creation_s": creation_s, "killed": killed}


def test_kill_9_during_store_creation_never_leaves_a_broken_store(tmp_path):
    code = ("import json, sys; from pathlib import Path; "
            "from tests.studies.test_store_creation import _serve_kills; "
            f"print(json.dumps(_serve_kills(Path(sys.argv[1]), {KILLS}, {SEED})))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Most kills must land inside the creation, or the test would show nothing.
    assert result["killed"] >= KILLS // 2, result
    broken = []
    for i in range(KILLS):
        db = tmp_path / f"store{i:02d}" / "mlflow.db"
        if not db.exists():
            continue  # killed before the store was whole: no store, which a later open creates
        try:
            ledger = Ledger(f"sqlite:///{db}", "mixopt-studies", "later")
            ledger.study_run()
        except Exception as err:  # any failure to open is a broken store
            broken.append(f"{db}: {type(err).__name__}: {str(err)[:200]}")
    assert broken == [], f"{len(broken)} of {KILLS} stores broken ({result}): {broken}"


_RELEASED_DRIVER = (
    "import os, sys, time; from pathlib import Path; import studies.cli; "
    "go = Path(sys.argv[1]); go.with_name(f'ready.{os.getpid()}').touch(); "
    "[time.sleep(0.005) for _ in iter(lambda: go.exists(), True)]; "
    "studies.cli.main(['study', 'run', sys.argv[2], '--poll-interval', '0.05'])"
)


def test_two_drivers_started_at_the_same_instant(tmp_path):
    path = function_study(tmp_path, max_trials=4, parallelism=2)
    go = tmp_path / "go"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MIXOPT_TEST_DELAY": "1.0"}
    drivers = [subprocess.Popen([sys.executable, "-c", _RELEASED_DRIVER, str(go), str(path)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(0.5)
    deadline = time.time() + 60
    while time.time() < deadline and not all(  # both imported and waiting (or dead)
            d.poll() is not None or (tmp_path / f"ready.{d.pid}").exists() for d in drivers):
        time.sleep(0.1)
    go.touch()
    results = [(d.wait(timeout=180), *d.communicate()) for d in drivers]
    codes = sorted(code for code, _, _ in results)
    errors = [err for code, _, err in results if code != 0]
    assert codes == [0, 2], results
    lines = [line for line in errors[0].splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "another driver" in lines[0], errors[0][-2000:]
    assert "Traceback" not in errors[0]

