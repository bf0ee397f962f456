"""Every trial result is bound to its attempt, and an ended attempt leaves no process behind.

Real processes throughout: `studies.trial_process` runs the fake `mixopt` of tests/studies/assets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from studies.config import LocalLauncher as LocalSettings
from studies.config import SlurmLauncher as SlurmSettings
from studies.config import load_study_config
from studies.driver import ledger_of
from studies.launchers.base import TrialSpec
from studies.launchers.local import LocalLauncher, group_members
from studies.orchestrator import Orchestrator
from studies.trial_files import SUPERSEDED_DIR, prepare_trial
from studies.trial_process import checkpoint_of, read_outcome, run_trial, write_outcome
from studies.trials import TrialStatus, latest_attempts
from tests.studies.assets.fake_mixopt import score
from tests.studies.study_files import FAKE_MIXOPT, local_study

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
FAKE = [sys.executable, str(FAKE_MIXOPT)]


def _wait_for(predicate, timeout_s: float = 60.0) -> Any:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _pids(trial_dir: Path) -> dict[str, int] | None:
    try:
        return json.loads((trial_dir / "train" / "pids.json").read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _orchestrator(config, launcher=None) -> Orchestrator:
    """What `run_study` builds, minus its lock and its checks of the folder (the driver may
    refuse or recover a folder its store does not know; what is tested here is that the trial
    layer never reads another attempt's files, whatever the driver lets through)."""
    return Orchestrator(config, launcher or LocalLauncher(config.launcher,
                                                          study_dir=config.study_dir),
                        ledger_of(config), prepare_trial=partial(prepare_trial, mixopt=FAKE),
                        poll_interval_s=0.1)


# -- item 1: results bound to their attempt ---------------------------------------------------

@pytest.mark.parametrize("change", ["store deleted", "another experiment"])
def test_a_second_study_in_the_same_folder_records_its_own_values(tmp_path, monkeypatch,
                                                                  change):
    path = local_study(tmp_path, max_trials=3)
    # The first study in a process of its own, as a user runs it (MLflow keeps a deleted
    # sqlite file open in the process that used it).
    subprocess.run([sys.executable, "-m", "studies.cli", "study", "run", str(path),
                    "--poll-interval", "0.1"], cwd=REPO, check=True, capture_output=True)
    trials = load_study_config(path).study_dir / "trials"
    old_runs = {json.loads((d / "trial.json").read_text())["run_id"] for d in trials.iterdir()}
    assert len(old_runs) == 3
    if change == "store deleted":
        (load_study_config(path).workdir / "mlflow.db").unlink()
    else:
        data = yaml.safe_load(path.read_text())
        data["tracking"] = {"experiment": "another"}
        path.write_text(yaml.safe_dump(data))
    # The second study's trainer scores every mixture 0.25 higher: its true values differ
    # from the first study's at the same mixtures.
    monkeypatch.setenv("FAKE_SCORE_SHIFT", "0.25")
    config = load_study_config(path)
    outcome = _orchestrator(config).run()

    latest = latest_attempts(outcome.trials)
    assert [r.status for r in latest] == [TrialStatus.COMPLETED] * 3
    assert not old_runs & {r.run_id for r in latest}
    for record in latest:
        assert record.objective == pytest.approx(score(dict(record.weights)))
        trial_dir = config.study_dir / "trials" / f"{record.index:03d}-a0"
        assert read_outcome(trial_dir, run_id=record.run_id)["metrics"]["in_score"] \
            == pytest.approx(record.objective)
    # The first study's folders were moved aside whole, not lost.
    moved = sorted(p.name for p in (config.study_dir / SUPERSEDED_DIR).iterdir())
    assert len(moved) == 3 and {m.split("-", 2)[2] for m in moved} == old_runs
    for folder in (config.study_dir / SUPERSEDED_DIR).iterdir():
        assert read_outcome(folder)["status"] == "completed"


def _prepared(tmp_path: Path, run_id: str) -> tuple[Any, TrialSpec]:
    config = load_study_config(local_study(tmp_path))
    trial_dir = config.study_dir / "trials" / "000-a0"
    spec = TrialSpec(config.name, 0, 0, {"lisa": 0.6, "sat": 0.2, "scienceqa": 0.2}, 0, run_id,
                     str(trial_dir))
    prepare_trial(config, spec, mixopt=FAKE)
    return config, spec


def test_a_stale_outcome_beside_a_running_attempt_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_SLEEP", "1.0")
    config, spec = _prepared(tmp_path, "new-run")
    trial_dir = Path(spec.trial_dir)
    write_outcome(trial_dir, "completed", {"in_score": 0.3185}, run_id="old-run")
    launcher = LocalLauncher(LocalSettings(gpus_per_trial=0), study_dir=config.study_dir)
    handle = launcher.submit(spec)
    assert launcher.poll(handle).state == "running"
    poll = _wait_for(lambda: (p := launcher.poll(handle)).state != "running" and p)
    assert poll.state == "completed"
    assert poll.metrics["in_score"] == pytest.approx(score(dict(spec.weights)))


def test_a_stale_outcome_of_a_dead_attempt_fails_it_with_the_reason(tmp_path):
    trial_dir = tmp_path / "trial"
    trial_dir.mkdir()
    write_outcome(trial_dir, "completed", {"in_score": 0.3185}, run_id="old-run")
    dead = subprocess.Popen(["true"])
    dead.wait()
    handle = {"kind": "local", "pid": dead.pid, "start_time": "0", "trial_dir": str(trial_dir),
              "gpus": [], "run_id": "new-run"}
    launcher = LocalLauncher(LocalSettings(gpus_per_trial=0), study_dir=tmp_path)
    poll = launcher.poll(handle)
    assert poll.state == "failed"
    assert "outcome of run 'old-run', not of this attempt's run 'new-run'" in poll.reason


def test_the_slurm_launcher_reads_only_its_attempts_outcome(tmp_path):
    pytest.importorskip("submitit")
    from studies.launchers.slurm import SlurmLauncher

    trial_dir = tmp_path / "trial"
    trial_dir.mkdir()
    write_outcome(trial_dir, "completed", {"in_score": 0.3185}, run_id="old-run")
    dead = subprocess.Popen(["true"])
    dead.wait()
    launcher = SlurmLauncher(SlurmSettings(executor="local"), study_dir=tmp_path)
    handle = {"kind": "slurm", "executor": "local", "job_id": str(dead.pid),
              "folder": str(tmp_path / "submitit"), "trial_dir": str(trial_dir),
              "run_id": "new-run"}
    poll = launcher.poll(handle)
    assert poll.state == "failed" and "not of this attempt's run 'new-run'" in poll.reason
    write_outcome(trial_dir, "completed", {"in_score": 0.5}, run_id="new-run")
    assert launcher.poll(handle).metrics == {"in_score": 0.5}


def test_a_training_result_of_another_run_is_not_evaluated(tmp_path):
    result = {"schema_version": 1, "complete": True, "final_checkpoint": str(tmp_path / "final"),
              "mlflow_run_id": "old-run"}
    (tmp_path / "train_result.json").write_text(json.dumps(result))
    checkpoint, reason = checkpoint_of(tmp_path, "new-run")
    assert checkpoint is None and "of run 'old-run', not of this attempt's run" in reason
    assert checkpoint_of(tmp_path, "old-run") == (str(tmp_path / "final"), "")


def test_a_trial_file_of_another_run_is_not_run(tmp_path):
    _, spec = _prepared(tmp_path, "old-run")
    outcome = run_trial(Path(spec.trial_dir) / "trial.json", run_id="new-run")
    assert outcome["status"] == "failed" and outcome["run_id"] == "new-run"
    assert "trial file of run 'old-run'" in outcome["reason"]
    assert not (Path(spec.trial_dir) / "train.log").exists()  # nothing was trained


def test_a_relaunch_of_the_same_attempt_keeps_its_folder(tmp_path):
    config, spec = _prepared(tmp_path, "run-a")
    (Path(spec.trial_dir) / "train.log").write_text("earlier launch\n")
    prepare_trial(config, spec, mixopt=FAKE)
    assert (Path(spec.trial_dir) / "train.log").read_text() == "earlier launch\n"
    assert not (config.study_dir / SUPERSEDED_DIR).exists()


# -- item 5: no process of an ended attempt left ----------------------------------------------

class _Watching:
    """A launcher that notes, when attempt 1 is submitted, what of attempt 0 still runs; then
    lets attempt 1's training finish (`release`)."""

    def __init__(self, inner: LocalLauncher, release: Path) -> None:
        self.inner, self.release = inner, release
        self.handles: list[dict[str, Any]] = []
        self.left_at_retry: list[list[int]] = []

    @property
    def capacity(self) -> int | None:
        return self.inner.capacity

    def submit(self, spec: TrialSpec) -> dict[str, Any]:
        if spec.attempt == 1:
            first = self.handles[0]
            pids = _pids(Path(first["trial_dir"])) or {}
            self.left_at_retry.append(group_members(first["pid"])
                                      + [p for p in pids.values() if _alive(p)])
            self.release.touch()
        handle = self.inner.submit(spec)
        self.handles.append(handle)
        return handle

    def poll(self, handle):
        return self.inner.poll(handle)

    def cancel(self, handle):
        self.inner.cancel(handle)

    def close(self):
        self.inner.close()


def test_kill_9_of_a_trial_process_ends_its_group_before_the_retry(tmp_path, monkeypatch):
    release = tmp_path / "release"
    # The training ignores SIGTERM and has a child of its own: only the launcher's kill of
    # the whole process group ends them.
    monkeypatch.setenv("FAKE_TRAIN_SLEEP", "600")
    monkeypatch.setenv("FAKE_TRAIN_UNTIL", str(release))
    monkeypatch.setenv("FAKE_TRAIN_CHILD", "1")
    monkeypatch.setenv("FAKE_TRAIN_IGNORE_TERM", "1")
    config = load_study_config(local_study(tmp_path, max_trials=1, parallelism=1,
                                           max_retries=1))
    watching = _Watching(LocalLauncher(config.launcher, study_dir=config.study_dir,
                                       kill_grace_s=1.0), release)
    first_pids: dict[str, int] = {}

    def kill_first_trial_process() -> None:
        handle = _wait_for(lambda: watching.handles and watching.handles[0])
        first_pids.update(_wait_for(lambda: _pids(Path(handle["trial_dir"]))))
        os.kill(handle["pid"], signal.SIGKILL)

    killer = threading.Thread(target=kill_first_trial_process, daemon=True)
    killer.start()
    try:
        outcome = _orchestrator(config, watching).run()
    finally:
        release.touch()
        for pid in first_pids.values():  # an old launcher's leftovers, not to outlive the test
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    killer.join(5)
    first, retry = sorted(outcome.trials, key=lambda r: r.attempt)
    assert first.status is TrialStatus.FAILED
    assert "exited without writing an outcome" in first.reason
    assert watching.left_at_retry == [[]]  # nothing of attempt 0 ran when attempt 1 started
    assert set(first_pids) == {"train", "child"}
    assert retry.status is TrialStatus.COMPLETED
    assert retry.objective == pytest.approx(score(dict(retry.weights)))


def test_the_training_dies_with_a_killed_trial_process(tmp_path):
    """The parent-death signal: no launcher around to kill the group."""
    _, spec = _prepared(tmp_path, "run-a")
    trial_dir = Path(spec.trial_dir)
    env = {**os.environ, "FAKE_TRAIN_SLEEP": "600"}
    proc = subprocess.Popen([sys.executable, "-m", "studies.trial_process",
                             str(trial_dir / "trial.json")], cwd=REPO, env=env,
                            start_new_session=True)
    try:
        pids = _wait_for(lambda: _pids(trial_dir))
        assert _alive(pids["train"])
        proc.kill()
        proc.wait()
        _wait_for(lambda: not _alive(pids["train"]), timeout_s=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
