"""Running and opening studies: what the `mixopt study` commands call.

`run_study` takes the study's lock, builds its launcher and ledger and runs the orchestrator.
`open_study` finds a study from a config path or from its name in a tracking store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from mixopt.errors import MixoptError
from studies.analysis import StudyView
from studies.config import StudyConfig
from studies.launchers import make_launcher
from studies.ledger import ARTIFACTS_DIR, Ledger
from studies.lock import StudyLock
from studies.opening import StudyNotFoundError as StudyNotFoundError  # importers use it here
from studies.opening import (
    StudyStoreMismatchError,
    locate_study,
    not_found,
    refuse_lost_store,
    view_from_parent,
)
from studies.orchestrator import Orchestrator, StudyOutcome, StudyProgress, view_of
from studies.recover import recording_attempts, unrecorded_attempts
from studies.resume_check import as_configured, check_resume
from studies.stop_signals import sigterm_as_interrupt
from studies.trial_files import prepare_trial
from studies.trials import TrialRecord, completed

LOCK_FILE = "driver.lock"
WARM_START_TAG = "mixopt.warm_start_from"


def ledger_of(config: StudyConfig) -> Ledger:
    """The study's ledger; its runs keep their artifacts in ``<study dir>/artifacts``."""
    config.study_dir.mkdir(parents=True, exist_ok=True)
    return Ledger(config.tracking_uri, config.tracking.experiment, config.name,
                  artifact_root=config.study_dir / ARTIFACTS_DIR)


def check_store_knows_study(config: StudyConfig, ledger: Ledger) -> None:
    """Refuse a store that does not know a study whose files are on disk.

    Raises:
        StudyStoreMismatchError: the folder holds trials or study.json, the store no such
            study (a deleted, truncated or replaced store, another tracking URI or experiment),
            or attempt folders the store has no run of (an older store, a recovery cut short).
    """
    if ledger.find_study_run() is None:
        refuse_lost_store(config, ledger.tracking_uri)
    unknown = unrecorded_attempts(config, ledger.trials())
    if unknown:
        raise StudyStoreMismatchError(
            f"study {config.name!r}: the MLflow store {ledger.tracking_uri} has no run of "
            f"{len(unknown)} trial folder(s) in {config.study_dir / 'trials'} "
            f"({', '.join(unknown[:3])}{', ...' if len(unknown) > 3 else ''}); add them with "
            "`mixopt study recover CONFIG`")


def warm_start_trials(config: StudyConfig, others: list[str]) -> list[TrialRecord]:
    """The completed trials of the studies `others` (configs or names in `config`'s store),
    re-indexed -1, -2, ... and marked ``warm-start``.

    Raises:
        MixoptError: a study over other domains or with another objective.
    """
    records: list[TrialRecord] = []
    for other in others:
        opened = open_study(other, tracking_uri=None if other.endswith((".yaml", ".yml"))
                            else config.tracking_uri, experiment=config.tracking.experiment
                            if not other.endswith((".yaml", ".yml")) else None)
        view = opened.view
        if set(view.domains) != set(config.domain_names):
            raise MixoptError(f"--warm-start-from {other}: its domains {list(view.domains)} "
                              f"differ from {list(config.domain_names)}")
        if view.objective != config.eval.objective.label:
            raise MixoptError(f"--warm-start-from {other}: its objective {view.objective!r} "
                              f"differs from {config.eval.objective.label!r}")
        for r in completed(view.trials):
            records.append(replace(r, index=-1 - len(records), source="warm-start"))
    return records


def run_study(
    config: StudyConfig, *, max_trials: int | None = None,
    on_progress: Callable[[StudyProgress], None] | None = None,
    poll_interval_s: float | None = None,
    warm_start_from: list[str] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> StudyOutcome:
    """Run or resume `config`'s study to its end.

    `warm_start_from` names earlier studies (configs, or names in this study's store) over the
    same domains and objective: their completed trials are fitted too (never re-run). The list
    is kept in the study's parent run, so a resumed run uses it without repeating it.
    A resumed study's config is first checked against the stored one
    (`studies.resume_check.check_resume`); `on_note` gets its one-line notes.

    Raises:
        StudyLockedError: another driver runs this study.
        ResumeRefusedError: a config change that cannot be resumed (nothing written).
        MixoptError: a launcher that cannot be built, a store that cannot be used.
    """
    if max_trials is not None and max_trials < 1:
        raise MixoptError(f"max_trials must be >= 1, got {max_trials}")
    # The lock first: a second driver must never touch the store, not even to create it.
    with sigterm_as_interrupt(), StudyLock(config.study_dir / LOCK_FILE) as lock:
        ledger = ledger_of(config)
        check_store_knows_study(config, ledger)
        parent = ledger.find_study_run()
        if parent is not None:
            for note in check_resume(config, ledger, parent):
                (on_note or (lambda line: None))(note)
        saved = (ledger.client.get_run(parent).data.tags.get(WARM_START_TAG)
                 if parent is not None else None)
        others = list(warm_start_from or (json.loads(saved) if saved else []))
        warm = warm_start_trials(config, others) if others else []
        launcher = make_launcher(config)
        prepare = None
        if config.launcher.kind != "function":
            command = config.launcher.mixopt_command
            prepare = partial(prepare_trial, mixopt=list(command) if command else None)
        if poll_interval_s is None:
            poll_interval_s = 0.02 if config.launcher.kind == "function" else 2.0
        prepare = recording_attempts(ledger, prepare)  # each folder says what its attempt is
        orchestrator = Orchestrator(config, launcher, ledger, prepare_trial=prepare,
                                    on_progress=on_progress, poll_interval_s=poll_interval_s,
                                    warm_start=warm)
        if others:
            ledger.set_study_tags(ledger.study_run(), {WARM_START_TAG: json.dumps(others)})
        return orchestrator.run(max_trials=max_trials, lock=lock)


@dataclass(frozen=True)
class OpenedStudy:
    view: StudyView
    ledger: Ledger
    config: StudyConfig | None


def open_study(study: str, *, tracking_uri: str | None = None, experiment: str | None = None,
               workdir: Path | None = None) -> OpenedStudy:
    """A study from a config path (``*.yaml``) or a study name in the tracking store, through
    MLflow's client (`studies.opening.read_study` reads a sqlite store without it).

    Raises:
        StudyConfigError: a config path with errors.
        StudyNotFoundError: no such study in the store, or a name without a store.
    """
    target = locate_study(study, tracking_uri=tracking_uri, experiment=experiment,
                          workdir=workdir)
    ledger = Ledger(target.uri, target.experiment, target.name)
    parent = ledger.find_study_run()
    config = target.config
    if config is not None:
        if parent is None:
            refuse_lost_store(config, target.uri)
        trials = as_configured(config, ledger.trials())  # an edited objective, not yet run
        return OpenedStudy(view_of(config, trials, parent), ledger, config)
    if parent is None:
        raise not_found(target)
    run = ledger.client.get_run(parent)
    view = view_from_parent(target, run.data.params, run.data.tags, ledger.trials(), parent)
    return OpenedStudy(view, ledger, None)
