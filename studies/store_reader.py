"""A study's runs read straight from an MLflow sqlite store: read-only, without MLflow.

MLflow's client takes 3-4 CPU-seconds to import (its SQLAlchemy store, pandas, ...), more than
`mixopt study status` needs for everything else. `read_stored_study` reads the same rows the
client's ``search_runs`` and ``get_experiment_by_name`` read (active runs of the experiment,
their tags, params and latest metrics, ordered by start time then run id), in one read
transaction, and only where it knows the store's layout: a local sqlite file of the schema
revision that the installed MLflow version writes (`VERIFIED_SCHEMAS`), workspaces off.
Anywhere else it answers None and the caller uses MLflow's client. The trials are decoded by
`studies.ledger_schema.trial_record`, as the ledger decodes them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

from studies.ledger_schema import EXPERIMENT_KIND, ROLE, STUDY, trial_record
from studies.store_location import sqlite_path
from studies.trials import TrialRecord

# MLflow version -> the alembic revision of the stores it writes, for which the queries below
# were checked against its client (tests/studies/test_store_reader.py). Another MLflow version
# or revision: None (the client), until checked and added here. 3.18.0's three migrations since
# 3.17.2 (skill registry, issue contract, MCP versions) touch none of the tables read here.
VERIFIED_SCHEMAS = {"3.17.2": "dc11669786a5", "3.18.0": "f4a9b2c7d1e6"}

# Active runs of one experiment carrying the tags role = ?, study = ?, in search_runs' order.
_RUNS = (
    "SELECT r.run_uuid, r.artifact_uri FROM runs r"
    " WHERE r.experiment_id = ? AND r.lifecycle_stage = 'active'"
    " AND EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid"
    "             AND t.key = ? AND t.value = ?)"
    " AND EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = r.run_uuid"
    "             AND t.key = ? AND t.value = ?)"
    " ORDER BY r.start_time DESC, r.run_uuid"
)


@dataclass(frozen=True)
class StoredRun:
    """One run's id, tags, params and latest metrics (NaN where MLflow has NaN); `history`:
    the ``(step, value)`` points of the metrics asked for, in ``get_metric_history``'s order
    (timestamp, step, value); `artifact_uri`: the run's (``run.info.artifact_uri``)."""

    run_id: str
    artifact_uri: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    history: Mapping[str, list[tuple[int, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredStudy:
    """A study as its store holds it: the parent run (None: the store has no such study) and
    every trial attempt, ordered by (index, attempt) as `studies.ledger.Ledger.trials`."""

    parent: StoredRun | None
    trials: list[TrialRecord]


def verified_store(tracking_uri: str) -> Path | None:
    """The sqlite file of `tracking_uri` if it can be read here as MLflow would read it, else
    None (a server, a URI with options, workspaces on, an MLflow version or a schema revision
    not in `VERIFIED_SCHEMAS`, a file that cannot be read)."""
    db = sqlite_path(tracking_uri)
    if db is None or "?" in tracking_uri or "%" in tracking_uri or not db.is_file():
        return None
    if os.environ.get("MLFLOW_ENABLE_WORKSPACES", "").strip().lower() not in ("", "0", "false"):
        return None
    try:
        expected = VERIFIED_SCHEMAS.get(metadata.version("mlflow"))
    except metadata.PackageNotFoundError:
        return None
    if expected is None:
        return None
    try:
        with closing(_connect(db)) as conn:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return None
    return db if revision == [(expected,)] else None


def read_stored_study(tracking_uri: str, experiment: str, study: str,
                      parent_history: Sequence[str] = ()) -> StoredStudy | None:
    """The parent run (with the history of its metrics `parent_history`) and trials of `study`
    in `experiment` of the store `tracking_uri`; None where this reader is not sure to read
    what MLflow's client reads (`verified_store`), or the experiment is missing or not yet
    marked for the UI (the client creates or marks it).

    Raises:
        LedgerError: a trial run with a corrupt record (as `studies.ledger.Ledger.trials`).
    """
    db = verified_store(tracking_uri)
    if db is None:
        return None
    try:
        with closing(_connect(db)) as conn:
            conn.execute("BEGIN")  # one snapshot, even while a driver writes
            found = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?",
                                 (experiment,)).fetchall()
            if len(found) != 1:
                return None
            experiment_id = found[0][0]
            marked = conn.execute("SELECT 1 FROM experiment_tags WHERE experiment_id = ?"
                                  " AND key = ?", (experiment_id, EXPERIMENT_KIND)).fetchall()
            if not marked:
                return None
            parents = _runs(conn, experiment_id, "study", study)
            trials = _runs(conn, experiment_id, "trial", study)
            if parents and parent_history:
                parents[0] = replace(parents[0], history=_history(conn, parents[0].run_id,
                                                                  parent_history))
    except sqlite3.Error:
        return None
    records = [trial_record(r.run_id, r.tags, r.metrics) for r in trials]
    return StoredStudy(parent=parents[0] if parents else None,
                       trials=sorted(records, key=lambda r: (r.index, r.attempt)))


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30, isolation_level=None)


def _history(conn: sqlite3.Connection, run_id: str, keys: Sequence[str]
             ) -> dict[str, list[tuple[int, float]]]:
    history: dict[str, list[tuple[int, float]]] = {key: [] for key in keys}
    for key in keys:
        for step, value, is_nan in conn.execute(
                "SELECT step, value, is_nan FROM metrics WHERE run_uuid = ? AND key = ?"
                " ORDER BY timestamp, step, value", (run_id, key)):
            history[key].append((int(step), float("nan") if is_nan else float(value)))
    return history


def _runs(conn: sqlite3.Connection, experiment_id: int, role: str, study: str
          ) -> list[StoredRun]:
    """The runs of `study` with that role, each with its tags, params and latest metrics."""
    found = conn.execute(_RUNS, (experiment_id, ROLE, role, STUDY, study)).fetchall()
    ids = [run for run, _ in found]
    if not ids:
        return []
    tags: dict[str, dict[str, str]] = {i: {} for i in ids}
    params: dict[str, dict[str, str]] = {i: {} for i in ids}
    metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
    for chunk in (ids[k:k + 500] for k in range(0, len(ids), 500)):  # sqlite's variable limit
        marks = ",".join("?" * len(chunk))
        for run, key, value in conn.execute(
                f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", chunk):
            tags[run][key] = value
        for run, key, value in conn.execute(
                f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", chunk):
            params[run][key] = value
        for run, key, value, is_nan in conn.execute(
                "SELECT run_uuid, key, value, is_nan FROM latest_metrics"
                f" WHERE run_uuid IN ({marks})", chunk):
            metrics[run][key] = float("nan") if is_nan else float(value)
    return [StoredRun(i, uri, tags[i], params[i], metrics[i]) for i, uri in found]
