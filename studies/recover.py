"""Trial folders as the ledger's backup: ``attempt.json`` and `recover_study`.

Every attempt's folder (``<study dir>/trials/<index>-a<attempt>/``) says what the attempt was
(``attempt.json``: index, attempt, MLflow run id, exact weights, seed, source, and a proxy
trial's ``proxy`` (`search.proxies`); written by the
driver at launch; folders of earlier versions have ``trial.json`` and ``job.yaml`` instead) and,
once it ended, how it ended (``outcome.json`` with its run id, written by the trial process or
the function launcher). `recover_study` (``mixopt study recover CONFIG``) adds to the tracking
store every attempt folder the store does not know, after the store lost the study (deleted,
truncated, replaced): the study's parent run from ``study.json``, one run per attempt with its
status, weights, metrics and objective, the old run id in the tag ``mixopt.recovered_from``.
Completed attempts are then never re-run; an attempt without an outcome (it was running, or the
outcome is another run's) is recorded failed by the driver and retried without counting
against ``max_retries``. A recovery that is interrupted is finished by running it again; until
then `unrecorded_attempts` makes ``study run`` refuse. Folders that say nothing usable are moved
whole to ``<study dir>/superseded/``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mixopt.errors import MixoptError
from rlvr.atomic_write import write_text_atomic
from studies.config import StudyConfig
from studies.launchers.base import TrialSpec
from studies.ledger_schema import ENDED, SOURCE
from studies.trials import TrialRecord, TrialStatus

if TYPE_CHECKING:  # MLflow's import takes seconds: `study status` (unrecorded_attempts) needs none
    from studies.ledger import Ledger

ATTEMPT_FILE = "attempt.json"
RECOVERED_FROM = "mixopt.recovered_from"
RECOVERED_AT = "mixopt.recovered_at"
SCHEMA_VERSION = 1
_FOLDER = re.compile(r"^(\d+)-a(\d+)$")


class RecoverError(MixoptError):
    """A study that cannot be recovered from its folder (the message says why)."""


# -- the attempt file --------------------------------------------------------------------------


def write_attempt_file(spec: TrialSpec, source: str) -> Path:
    """Write ``attempt.json`` into the attempt's folder (after its other files: a folder of
    another run is moved aside by `studies.trial_files.prepare_trial` first)."""
    content = {"schema_version": SCHEMA_VERSION, "study": spec.study, "index": spec.index,
               "attempt": spec.attempt, "run_id": spec.run_id, "weights": dict(spec.weights),
               "seed": spec.seed, "source": source, "written_at": time.time()}
    if spec.proxy:  # a proxy trial's fidelity (`search.proxies`); absent: the target
        content["proxy"] = spec.proxy
    return write_text_atomic(Path(spec.trial_dir) / ATTEMPT_FILE,
                             json.dumps(content, indent=2) + "\n")


def recording_attempts(ledger: Ledger, prepare: Any = None) -> Any:
    """A ``prepare_trial`` callback for `studies.orchestrator.Orchestrator`: `prepare` (or
    nothing), then ``attempt.json`` with the attempt's source as the ledger has it."""

    def prepare_and_record(config: StudyConfig, spec: TrialSpec) -> None:
        if prepare is not None:
            prepare(config, spec)
        source = ledger.client.get_run(spec.run_id).data.tags.get(SOURCE, "design")
        write_attempt_file(spec, source)

    return prepare_and_record


@dataclass(frozen=True)
class AttemptFolder:
    """What one attempt folder says. `outcome` is None when it holds no outcome of its run."""

    path: Path
    index: int
    attempt: int
    run_id: str
    weights: Mapping[str, float]
    seed: int
    source: str
    outcome: Mapping[str, Any] | None = None
    problem: str = ""  # why the outcome is not used
    proxy: str = ""  # the proxy it trained (`search.proxies`), "" for the target


def attempt_folders(study_dir: Path) -> list[Path]:
    """The ``<index>-a<attempt>`` folders under ``trials/``, by (index, attempt)."""
    trials = study_dir / "trials"
    if not trials.is_dir():
        return []
    found = [p for p in trials.iterdir() if p.is_dir() and _FOLDER.match(p.name)]
    return sorted(found, key=_slot)


def read_attempt_folder(path: Path) -> AttemptFolder:
    """What `path` says of its attempt.

    Raises:
        RecoverError: neither ``attempt.json`` nor ``trial.json`` with ``job.yaml`` is readable
            (the message names the folder and the problem).
    """
    from studies.trial_process import OutcomeFileError, read_outcome

    index, attempt = _slot(path)
    info = _json(path / ATTEMPT_FILE)
    if info is not None:
        try:
            run_id, weights = str(info["run_id"]), _weights(info["weights"])
            seed, source = int(info["seed"]), str(info.get("source", "recovered"))
            proxy = str(info.get("proxy", ""))
        except (KeyError, TypeError, ValueError) as err:
            raise RecoverError(f"{path / ATTEMPT_FILE}: incomplete ({err})") from None
    else:
        trial, job = _json(path / "trial.json"), _yaml(path / "job.yaml")
        if trial is None or job is None:
            raise RecoverError(f"{path}: no readable attempt.json, nor trial.json and job.yaml")
        try:
            run_id, weights, seed = str(trial["run_id"]), _weights(job["domains"]), \
                int(job.get("seed", 0))
        except (KeyError, TypeError, ValueError) as err:
            raise RecoverError(f"{path}: trial.json/job.yaml incomplete ({err})") from None
        source, proxy = "recovered", ""  # folders of earlier versions do not say
    outcome, problem = None, ""
    try:
        outcome = read_outcome(path, run_id=run_id)
    except OutcomeFileError as err:
        problem = str(err)
    if outcome is None and not problem:
        problem = "no outcome (it was running, or not started, when the store was lost)"
    return AttemptFolder(path, index, attempt, run_id, weights, seed, source, outcome, problem,
                         proxy)


def unrecorded_attempts(config: StudyConfig, trials: list[TrialRecord]) -> list[str]:
    """Names of the attempt folders whose (index, attempt) the ledger has no run of."""
    known = {(r.index, r.attempt) for r in trials}
    return [p.name for p in attempt_folders(config.study_dir) if _slot(p) not in known]


# -- recovery ----------------------------------------------------------------------------------


@dataclass
class Recovery:
    """What `recover_study` did."""

    parent_created: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    already_known: int = 0
    moved_aside: list[str] = field(default_factory=list)

    @property
    def recovered(self) -> int:
        return sum(self.statuses.values())

    def summary(self, name: str, uri: str) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "none"
        text = (f"study {name!r}: recovered {self.recovered} trial attempt(s) into {uri} "
                f"({parts})")
        if self.parent_created:
            text += " and the study's parent run from study.json"
        if self.already_known:
            text += f"; {self.already_known} already in the store"
        if self.moved_aside:
            text += (f"; {len(self.moved_aside)} unusable folder(s) moved to superseded/ "
                     f"({', '.join(self.moved_aside[:3])})")
        return text + "; old run ids in the tag mixopt.recovered_from"


def recover_study(config: StudyConfig) -> tuple[Recovery, str]:
    """Add to the study's store every attempt folder it does not know; returns what was done
    and the one-line summary. Holds the study's lock meanwhile.

    The parent run is made from ``study.json`` (the config the study last ran with): its
    objective scores the completed attempts, its ``max_retries`` decides which failed trials
    were abandoned.

    Raises:
        StudyLockedError: a driver runs the study.
        RecoverError: no ``study.json``, or one that is not a study config.
        LedgerError: a store that cannot be used.
    """
    from studies.driver import LOCK_FILE, ledger_of
    from studies.lock import StudyLock

    study_json = config.study_dir / "study.json"
    try:
        stored = StudyConfig.model_validate_json(study_json.read_text(encoding="utf-8"))
    except OSError as err:
        raise RecoverError(f"study {config.name!r}: nothing to recover from: {study_json} "
                           f"cannot be read ({err.strerror or err})") from None
    except ValueError as err:
        raise RecoverError(f"{study_json}: not a study config ({str(err).splitlines()[0]})") \
            from None
    if stored.name != config.name:
        raise RecoverError(f"{study_json} is of study {stored.name!r}, not {config.name!r}")
    with StudyLock(config.study_dir / LOCK_FILE):
        ledger = ledger_of(config)
        done = Recovery()
        parent = ledger.find_study_run()
        if parent is None:
            parent = ledger.study_run(params=_study_params(stored, ledger))
            ledger.log_study_artifact(parent, str(study_json))
            ledger.set_study_tags(parent, {"mixopt.config_logged": "1",
                                           RECOVERED_AT: repr(time.time())})
            done.parent_created = True
        records = ledger.trials()
        known = {(r.index, r.attempt): r for r in records}
        folders = []
        for path in attempt_folders(config.study_dir):
            if _slot(path) in known and known[_slot(path)].status is not TrialStatus.QUEUED:
                done.already_known += 1
                continue
            try:
                folders.append(read_attempt_folder(path))
            except RecoverError:
                done.moved_aside.append(_move_aside(path, config.study_dir))
        for folder in folders:
            status = _record(ledger, parent, stored, folder, folders, known.get(
                (folder.index, folder.attempt)))
            done.statuses[status] = done.statuses.get(status, 0) + 1
        if done.parent_created:
            # Not RUNNING in the UI: ended (it had written a recommendation) or stopped.
            rec = config.study_dir / "recommendation.json"
            if rec.is_file():
                ledger.log_study_artifact(parent, str(rec))
            ledger.end_study(parent, "FINISHED" if rec.is_file() else "KILLED")
    return done, done.summary(config.name, ledger.tracking_uri)


def _record(ledger: Ledger, parent: str, stored: StudyConfig, folder: AttemptFolder,
            folders: list[AttemptFolder], queued: TrialRecord | None) -> str:
    """Record one attempt (in the queued run a recovery killed midway left, if any)."""
    if queued is None:
        train, cost = stored.train, stored.proxy_cost(folder.proxy)
        if cost is None:
            raise RecoverError(f"{folder.path / ATTEMPT_FILE}: proxy {folder.proxy!r} is not "
                               "one of the study's search.proxies")
        if train is not None and folder.proxy:
            train = stored.proxy_train(folder.proxy)
        record = ledger.create_trial(
            parent, index=folder.index, attempt=folder.attempt, weights=folder.weights,
            seed=folder.seed, source=folder.source,
            params={} if train is None else {"budget": train.budget, "seed": train.seed},
            proxy=folder.proxy, cost=cost)
        run_id = record.run_id
    else:
        run_id = queued.run_id
    ledger.set_study_tags(run_id, {RECOVERED_FROM: folder.run_id})
    files = [folder.path / n for n in ("job.yaml", "trial.json", "eval.json", "outcome.json",
                                       ATTEMPT_FILE, "checkpoints.json", "stopped.json")]
    ledger.log_artifacts(run_id, [str(f) for f in files if f.is_file()])
    outcome = folder.outcome
    if stored.search.fidelity is not None:  # its checkpoints, and a stop by the rule
        from studies.early_stop import recover_attempt

        stopped = recover_attempt(ledger, stored, run_id, folder.path, folder.run_id)
        if stopped and outcome is None:
            return TrialStatus.STOPPED_EARLY.value
    if outcome is not None and outcome["status"] == "completed":
        metrics = {str(k): float(v) for k, v in outcome["metrics"].items()}
        try:
            value = stored.eval.objective.value(metrics)
        except (KeyError, ValueError) as err:
            outcome = {"status": "failed", "reason": f"no objective: {str(err).strip(chr(34))}"}
        else:
            ledger.mark_completed(run_id, metrics, value)
            _set_ended(ledger, run_id, outcome)
            return TrialStatus.COMPLETED.value
    if outcome is None:
        ledger.mark_failed(run_id, f"recovered from {folder.path.name}: {folder.problem}",
                           kind="driver")
        return TrialStatus.FAILED.value
    failures = sum(1 for f in folders if f.index == folder.index and f.attempt <= folder.attempt
                   and f.outcome is not None and f.outcome.get("status") != "completed")
    last = max(f.attempt for f in folders if f.index == folder.index) == folder.attempt
    give_up = last and failures > stored.search.max_retries
    reason = str(outcome.get("reason", "")) + ("; no retries left" if give_up else "")
    ledger.mark_failed(run_id, reason, kind="trial", abandoned=give_up)
    _set_ended(ledger, run_id, outcome)
    return (TrialStatus.ABANDONED if give_up else TrialStatus.FAILED).value


def _study_params(config: StudyConfig, ledger: Ledger) -> dict[str, Any]:
    """The parent run's parameters, as the orchestrator logs them for `config`."""
    from studies.orchestrator import Orchestrator

    return Orchestrator(config, None, ledger)._study_params()  # type: ignore[arg-type]


def _set_ended(ledger: Ledger, run_id: str, outcome: Mapping[str, Any]) -> None:
    written = outcome.get("written_at")
    if isinstance(written, int | float):
        ledger.set_study_tags(run_id, {ENDED: repr(float(written))})


def _move_aside(path: Path, study_dir: Path) -> str:
    if not any(path.iterdir()):
        path.rmdir()  # empty (a function trial of an earlier version): nothing to keep
        return path.name
    target = study_dir / "superseded" / f"{path.name}-unrecoverable-{time.time_ns()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    path.rename(target)
    return path.name


def _slot(path: Path) -> tuple[int, int]:
    match = _FOLDER.match(path.name)
    assert match is not None
    return int(match.group(1)), int(match.group(2))


def _weights(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"weights {value!r} are not a mapping of domains to numbers")
    return {str(k): float(v) for k, v in value.items()}


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _yaml(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None
