"""The driver's side of checkpoints for `local` trials: a trial process that writes
``checkpoints.json`` into its attempt folder (here a fake `mixopt`, fast enough to stop trials
while they train; the real trainer's checkpoint evaluations are in
test_fidelity_local_trainer.py) has its checkpoints logged while it runs, and is stopped (its
process group ended) by the rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from studies.checkpoints import FIDELITY_METRIC
from studies.config import load_study_config
from studies.driver import ledger_of, run_study
from studies.lock import pid_alive
from studies.trials import TrialStatus, latest_attempts
from tests.studies.study_files import local_study

pytestmark = pytest.mark.slow
FAKE = Path(__file__).parent / "assets" / "fake_checkpointing_mixopt.py"


def test_local_trials_checkpoints_are_logged_and_a_trial_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TRAIN_SLEEP", "3")  # long enough to be stopped while training
    monkeypatch.setenv("FAKE_CHECKPOINTS", "0.5")
    path = local_study(tmp_path, launcher={"kind": "local", "gpus_per_trial": 0,
                                           "mixopt_command": [sys.executable, str(FAKE)]},
                       max_trials=4, parallelism=2)
    data = yaml.safe_load(path.read_text())
    data["search"].update(fidelity={"checkpoints": [0.5, 1.0]},
                          early_stopping={"rule": "percentile", "percentile": 50,
                                          "min_curves": 0})
    path.write_text(yaml.safe_dump(data))
    config = load_study_config(path)
    run_study(config, poll_interval_s=0.1)

    ledger = ledger_of(config)
    latest = latest_attempts(ledger.trials())
    assert [r.index for r in latest] == [0, 1, 2, 3]
    statuses = [r.status for r in latest]
    assert TrialStatus.STOPPED_EARLY in statuses, [(s.value, r.reason) for s, r in
                                                   zip(statuses, latest, strict=True)]
    for r in latest:
        steps = [m.step for m in ledger.client.get_metric_history(r.run_id, FIDELITY_METRIC)]
        assert steps[0] == 500 and len(steps) == len(set(steps))
        # A completed trial's own evaluation is its last checkpoint, in its file too.
        assert steps == ([500, 1000] if r.status is TrialStatus.COMPLETED else [500])
        folder = config.study_dir / "trials" / f"{r.index:03d}-a{r.attempt}"
        if r.status is TrialStatus.STOPPED_EARLY:
            assert not (folder / "outcome.json").exists()  # stopped before it trained to the end
            assert (folder / "stopped.json").is_file()
            job = yaml.safe_load((folder / "job.yaml").read_text())
            pids = json.loads((Path(job["output_dir"]) / "pids.json").read_text())
            assert not pid_alive(pids["train"])  # its training was ended with it
