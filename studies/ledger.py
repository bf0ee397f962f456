"""MLflow as the ledger of a study: one parent run per study, one child run per trial attempt.

Everything a driver needs to resume lives in the tracking store, read back with
``search_runs``: the study's parent run (tags ``mixopt.role=study``, ``mixopt.study=<name>``)
and its trials (``mlflow.parentRunId``, ``mixopt.trial_index``, ``mixopt.attempt``,
``mixopt.status``, ``mixopt.weights`` as exact JSON, the launcher handle, the failure reason;
params ``w.<domain>``, ``budget``, ``seed``; metrics from the evaluation and ``objective``).
All calls go through one `MlflowClient` with explicit run ids.

Made for the MLflow UI: the experiment is marked as one of classic model training (not GenAI
traces), trials are named ``<study>/trial-003``, weights are logged rounded to 6 decimals (the
exact ones are in the ``mixopt.weights`` tag and the trial's ``weights.json`` artifact), and the
parent run ends FINISHED, FAILED or KILLED with the driver (RUNNING again on resume).

A sqlite store is created whole or not at all: MLflow's schema migration runs on a temporary
file beside it, which is then linked into place (`create_sqlite_store`), so a ``kill -9`` in
the first seconds of a study never leaves a half-migrated store. The experiment's artifacts of
a sqlite store go to ``artifacts/`` beside the database, not to ``./mlruns`` of whatever folder
the driver was started from. Studies of one workdir share one store
(`studies.store_location`); each keeps its runs' artifacts in its own folder (`artifact_root`).
Creating or rebuilding a store holds a lock on that store, so drivers of two studies starting
together never race on it.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy.exc import SQLAlchemyError

from studies.ledger_schema import (  # the names are re-exported: importers use them from here
    ATTEMPT,
    CLASSIC_TRAINING,
    COST,
    ENDED,
    EXPERIMENT_KIND,
    FAILURE_KIND,
    FIDELITY,
    HANDLE,
    INDEX,
    OBJECTIVE_METRIC,
    PARENT,
    REASON,
    ROLE,
    SEED,
    SOURCE,
    STARTED,
    STATUS,
    STUDY,
    WEIGHTS,
    LedgerError,
    trial_record,
)
from studies.store_location import sqlite_path
from studies.trials import TrialRecord, TrialStatus
from studies.ui_view import VIEW_TAG, merged_view

_PAGE = 1000
ARTIFACTS_DIR = "artifacts"
EXACT_WEIGHTS = "weights.json"
STUDY_STATUSES = ("FINISHED", "FAILED", "KILLED")
_CREATING = ".creating-"
_MLFLOW_STATUS = {
    TrialStatus.COMPLETED: "FINISHED",
    TrialStatus.FAILED: "FAILED",
    TrialStatus.ABANDONED: "KILLED",
}


class Ledger:
    """The MLflow records of one study.

    Args:
        tracking_uri: MLflow tracking URI (a sqlite file, a server).
        experiment: the experiment holding the study (created if missing).
        study: the study's name.
        artifact_location: where a newly created experiment keeps its artifacts; default:
            ``artifacts/`` beside a sqlite store's file, the server's choice otherwise.
        artifact_root: the study's own artifact folder (``<study dir>/artifacts``): runs
            created here keep their artifacts in ``<artifact_root>/<run id>/artifacts``
            (sqlite stores; a server keeps them where it chooses).

    Raises:
        LedgerError: a store that cannot be opened (corrupt, not an MLflow store, a server
            that does not answer); one line naming the store.
    """

    def __init__(self, tracking_uri: str, experiment: str, study: str,
                 artifact_location: str | None = None, artifact_root: Path | None = None) -> None:
        self.tracking_uri, self.study = tracking_uri, study
        db = sqlite_path(tracking_uri)
        self._db, self._artifact_root = db, artifact_root
        if db is not None:
            open_sqlite_store(tracking_uri, db)
            if artifact_location is None:
                artifact_location = (db.parent / ARTIFACTS_DIR).absolute().as_uri()
        self.client = MlflowClient(tracking_uri=tracking_uri)
        try:
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = (
                found.experiment_id if found is not None
                else self.client.create_experiment(experiment,
                                                   artifact_location=artifact_location)
            )
            if found is None or EXPERIMENT_KIND not in found.tags:
                self.client.set_experiment_tag(self.experiment_id, EXPERIMENT_KIND,
                                               CLASSIC_TRAINING)
        except MlflowException as err:
            raise LedgerError(f"MLflow store {tracking_uri}: {err.message}") from None
        except SQLAlchemyError as err:
            raise LedgerError(f"MLflow store {tracking_uri}: {_first_line(err)}") from None

    # -- the study's parent run ------------------------------------------------------------

    def find_study_run(self) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{ROLE}` = 'study' and tags.`{STUDY}` = '{self.study}'",
            max_results=2,
        )
        return runs[0].info.run_id if runs else None

    def study_run(self, params: Mapping[str, Any] | None = None) -> str:
        """The study's parent run id, created (with `params`) on the first call."""
        run_id = self.find_study_run()
        if run_id is not None:
            return run_id
        run = self.client.create_run(
            self.experiment_id, run_name=self.study,
            tags={ROLE: "study", STUDY: self.study},
        )
        self._place_artifacts(run.info.run_id)
        for key, value in (params or {}).items():
            self.client.log_param(run.info.run_id, key, str(value)[:6000])
        domains = str((params or {}).get("domains", "")).split(",")
        self._share_view([d for d in domains if d])
        return run.info.run_id

    def _share_view(self, domains: list[str]) -> None:
        """Add the study's weights to the experiment's opening view in the UI
        (`studies.ui_view`)."""
        tags = self.client.get_experiment(self.experiment_id).tags
        view = merged_view(tags.get(VIEW_TAG), domains, OBJECTIVE_METRIC)
        self.client.set_experiment_tag(self.experiment_id, VIEW_TAG, json.dumps(view))

    def mark_study_running(self, parent: str) -> None:
        """The study's driver (re)starts: its parent run shows RUNNING (MLflow keeps the end
        time of an earlier end; it is replaced when this driver ends the run)."""
        if self.client.get_run(parent).info.status != "RUNNING":
            self.client.update_run(parent, status="RUNNING")

    def end_study(self, parent: str, status: str) -> None:
        """End the parent run: ``FINISHED``, ``FAILED`` (the driver stopped on an error) or
        ``KILLED`` (by a signal or Ctrl-C)."""
        if status not in STUDY_STATUSES:
            raise ValueError(f"status {status!r}: one of {', '.join(STUDY_STATUSES)}")
        try:
            self.client.set_terminated(parent, status=status)
        except MlflowException as err:
            raise LedgerError(f"MLflow store {self.tracking_uri}: {err.message}") from None
        except SQLAlchemyError as err:
            raise LedgerError(f"MLflow store {self.tracking_uri}: {_first_line(err)}") from None

    def set_study_tags(self, parent: str, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(parent, key, str(value))

    def log_study_metrics(self, parent: str, metrics: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items() if math.isfinite(v)]
        if batch:
            self.client.log_batch(parent, metrics=batch)

    def log_study_artifact(self, parent: str, path: str, artifact_path: str | None = None) -> None:
        self.client.log_artifact(parent, path, artifact_path)

    # -- trials ------------------------------------------------------------------------------

    def create_trial(
        self, parent: str, *, index: int, attempt: int, weights: Mapping[str, float],
        seed: int, source: str, params: Mapping[str, Any] | None = None,
        proxy: str = "", cost: float = 1.0,
    ) -> TrialRecord:
        """Record a new attempt (status queued) as a child run of `parent`; a `proxy`
        attempt (its name, "" for the target) also gets the fidelity and cost tags and
        params (``fidelity``, ``fidelity_cost``)."""
        name = f"{self.study}/trial-{index:03d}" + (f"-retry{attempt}" if attempt else "")
        tags = {
            PARENT: parent, ROLE: "trial", STUDY: self.study, INDEX: str(index),
            ATTEMPT: str(attempt), STATUS: TrialStatus.QUEUED.value,
            WEIGHTS: json.dumps(dict(weights)), SOURCE: source, SEED: str(seed),
        }
        if proxy:
            tags.update({FIDELITY: proxy, COST: repr(float(cost))})
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        run_id = run.info.run_id
        self._place_artifacts(run_id)
        logged = {f"w.{d}": rounded_weight(w) for d, w in weights.items()}
        logged.update({k: str(v) for k, v in (params or {}).items()})
        if proxy:
            logged.update({"fidelity": proxy, "fidelity_cost": repr(float(cost))})
        for key, value in logged.items():
            self.client.log_param(run_id, key, value)
        self.client.log_dict(run_id, {d: float(w) for d, w in weights.items()}, EXACT_WEIGHTS)
        return TrialRecord(index=index, attempt=attempt, weights=dict(weights),
                           status=TrialStatus.QUEUED, run_id=run_id, seed=seed, source=source,
                           proxy=proxy, cost=float(cost) if proxy else 1.0)

    def mark_running(self, run_id: str, handle: Mapping[str, Any]) -> None:
        self.client.set_tag(run_id, HANDLE, json.dumps(dict(handle)))
        self.client.set_tag(run_id, STARTED, repr(time.time()))
        self.client.set_tag(run_id, STATUS, TrialStatus.RUNNING.value)

    def mark_completed(self, run_id: str, metrics: Mapping[str, float], objective: float) -> None:
        now = int(time.time() * 1000)
        values = {**{k: float(v) for k, v in metrics.items()}, OBJECTIVE_METRIC: objective}
        # `mixopt eval` (local/slurm trials) already logged these scores under the same names at
        # the checkpoint's step: a second point at step 0 would draw the final score as the
        # first point of its curve.
        known = self.client.get_run(run_id).data.metrics
        batch = [Metric(k, v, now, 0) for k, v in values.items() if math.isfinite(v)
                 and not (k in known and math.isclose(known[k], v, rel_tol=1e-12, abs_tol=0.0))]
        if batch:
            self.client.log_batch(run_id, metrics=batch)
        self._end(run_id, TrialStatus.COMPLETED, "")

    def mark_failed(self, run_id: str, reason: str, *, kind: str = "trial",
                    abandoned: bool = False) -> None:
        """`kind` is ``trial`` (counts against retries) or ``driver`` (the driver died)."""
        self.client.set_tag(run_id, FAILURE_KIND, kind)
        status = TrialStatus.ABANDONED if abandoned else TrialStatus.FAILED
        self._end(run_id, status, reason)

    def _end(self, run_id: str, status: TrialStatus, reason: str) -> None:
        if reason:
            self.client.set_tag(run_id, REASON, reason[:4000])
        self.client.set_tag(run_id, ENDED, repr(time.time()))
        self.client.set_tag(run_id, STATUS, status.value)
        try:
            self.client.set_terminated(run_id, status=_MLFLOW_STATUS[status])
        except MlflowException:
            pass  # a trainer may have ended the run itself; the tag above is what counts

    def _place_artifacts(self, run_id: str) -> None:
        """Point a new run's artifacts into this study's folder (sqlite stores).

        MLflow derives a run's artifact URI from its experiment's, which the studies of a
        shared store have in common; its API cannot set one per run, so the row of the run,
        which has no artifacts yet, is updated in the database itself."""
        if self._db is None or self._artifact_root is None:
            return
        uri = (self._artifact_root / run_id / "artifacts").absolute().as_uri()
        with closing(sqlite3.connect(self._db, timeout=60)) as conn, conn:
            conn.execute("UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", (uri, run_id))

    def log_artifacts(self, run_id: str, paths: Iterable[str]) -> None:
        for path in paths:
            self.client.log_artifact(run_id, path)

    def trials(self) -> list[TrialRecord]:
        """Every attempt of every trial of the study, ordered by (index, attempt)."""
        records = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id],
                filter_string=f"tags.`{ROLE}` = 'trial' and tags.`{STUDY}` = '{self.study}'",
                max_results=_PAGE, page_token=token,
            )
            records.extend(_record(run) for run in page)
            token = page.token
            if not token:
                break
        return sorted(records, key=lambda r: (r.index, r.attempt))


def rounded_weight(weight: float) -> str:
    """A weight as logged in the ``w.<domain>`` params: 6 decimals, trailing zeros dropped,
    below 1e-6 as ``0`` (an optimizer's 1.3e-13 is a zero weight)."""
    if abs(weight) < 1e-6:
        return "0"
    return f"{float(weight):.6f}".rstrip("0").rstrip(".")


def _record(run: Any) -> TrialRecord:
    return trial_record(run.info.run_id, run.data.tags, run.data.metrics)


# -- sqlite stores ---------------------------------------------------------------------------


def open_sqlite_store(tracking_uri: str, db: Path) -> None:
    """Make sure `db` is a complete MLflow store: create it if missing (`create_sqlite_store`),
    rebuild it if an interrupted creation of an earlier version left it half-made and empty.

    Raises:
        LedgerError: a file that is not a usable MLflow store and holds (or may hold) runs.
    """
    with store_lock(db):
        _open_sqlite_store(tracking_uri, db)


@contextmanager
def store_lock(db: Path) -> Iterator[None]:
    """Hold the creation lock of the store `db` (a ``flock`` on ``.<name>.lock`` beside it,
    freed by the kernel when its holder dies): drivers of the studies sharing the store
    create, check or rebuild it one at a time."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(f".{db.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open_sqlite_store(tracking_uri: str, db: Path) -> None:
    if not db.exists():
        create_sqlite_store(db)
        return
    try:
        _migrated_store(f"sqlite:///{db}", db.parent / ARTIFACTS_DIR)
        return
    except (MlflowException, SQLAlchemyError, sqlite3.Error) as err:
        problem = _first_line(err)
        _forget_engine(f"sqlite:///{db}")
        _forget_engine(tracking_uri)
    if _runs_in(db) != 0:
        raise LedgerError(
            f"MLflow store {db} cannot be opened ({problem}): it is corrupt or not an MLflow "
            "store; restore it from a backup, or move it away and rebuild the study's trials "
            "from its folder with `mixopt study recover CONFIG`")
    # Half-made by an interrupted creation (it holds no runs): nothing to lose. Kept aside.
    db.rename(db.with_name(f"{db.name}.half-made-{int(time.time())}"))
    create_sqlite_store(db)


def create_sqlite_store(db: Path) -> None:
    """Create an MLflow sqlite store at `db` atomically: migrated under a temporary name in
    the same folder, then hard-linked into place (never replacing a store another process
    created meanwhile). A process killed at any moment leaves no file at `db`, or a whole
    store; its leftover temporary file is removed by the next creation."""
    db.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(db)
    tmp = db.with_name(f".{db.name}{_CREATING}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        store = _migrated_store(f"sqlite:///{tmp}", db.parent / ARTIFACTS_DIR)
        store.engine.dispose()
        _forget_engine(f"sqlite:///{tmp}")
        try:
            os.link(tmp, db)
        except FileExistsError:
            pass  # another process created it first: use theirs
        _forget_engine(f"sqlite:///{db}")  # an engine of this process may hold a deleted file
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            leftover.unlink(missing_ok=True)


def _migrated_store(uri: str, artifacts: Path) -> Any:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(uri, artifacts.absolute().as_uri())


def _forget_engine(uri: str) -> None:
    """Drop MLflow's cached engine of `uri` (it would keep the old file open)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    engine = SqlAlchemyStore._engine_map.pop(uri, None)
    if engine is not None:
        engine.dispose()


def _remove_leftovers(db: Path) -> None:
    """Temporary files of creations whose process died (killed mid-creation)."""
    from studies.lock import pid_alive

    for path in db.parent.glob(f".{db.name}{_CREATING}*"):
        pid = path.name.split(_CREATING, 1)[1].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            path.unlink(missing_ok=True)


def _runs_in(db: Path) -> int | None:
    """Runs in the sqlite file `db`: 0 when it has no runs table; None when unreadable."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "runs" not in tables:
                return 0
            return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return None


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return f"{type(getattr(err, 'orig', None) or err).__name__}: {text.splitlines()[0][:300]}" \
        if text else type(err).__name__
