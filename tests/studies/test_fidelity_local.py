"""The driver's side of checkpoints for `local` trials: a trial process that writes
``checkpoints.json`` into its attempt folder (here a fake `mixopt`: the real trainer does not
evaluate at checkpoint steps yet, so configs refuse `fidelity` with the local launcher) has its
checkpoints logged while it runs, and is stopped (its process group ended) by the rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from studies.checkpoints import FIDELITY_METRIC
from studies.config import FidelitySettings, PercentileStopping, load_study_config
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
    loaded = load_study_config(path)
    # As a config that allowed it would be (not validated again: the local trainer's side is
    # what is missing, not the driver's).
    search = loaded.search.model_copy(update={
        "fidelity": FidelitySettings(checkpoints=(0.5, 1.0)),
        "early_stopping": PercentileStopping(rule="percentile", percentile=50, min_curves=0)})
    config = loaded.model_copy(update={"search": search})
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
        folder = config.study_dir / "trials" / f"{r.index:03d}-a{r.attempt}"
        if r.status is TrialStatus.STOPPED_EARLY:
            assert not (folder / "outcome.json").exists()  # stopped before it trained to the end
            assert (folder / "stopped.json").is_file()
            job = yaml.safe_load((folder / "job.yaml").read_text())
            pids = json.loads((Path(job["output_dir"]) / "pids.json").read_text())
            assert not pid_alive(pids["train"])  # its training was ended with it
