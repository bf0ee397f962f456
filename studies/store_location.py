"""Where a study's MLflow store is: one sqlite store per workdir, shared by its studies.

A study without ``tracking.uri`` records into ``<workdir>/mlflow.db``, so that every study of a
workdir appears in one MLflow UI; its trial files and artifacts stay in ``<workdir>/<name>/``.
A study that ran before stores were shared has its own ``<workdir>/<name>/mlflow.db``: it keeps
using that store as long as the store knows the study (a resume finds its trials there).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

STORE_FILE = "mlflow.db"

# A study's parent run carries these tags (studies.ledger.ROLE / STUDY).
_KNOWS_STUDY = (
    "SELECT count(*) FROM runs r"
    " JOIN tags role ON role.run_uuid = r.run_uuid"
    " JOIN tags name ON name.run_uuid = r.run_uuid"
    " WHERE r.lifecycle_stage = 'active'"
    " AND role.key = 'mixopt.role' AND role.value = 'study'"
    " AND name.key = 'mixopt.study' AND name.value = ?"
)


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None (a server, an in-memory store)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    path = tracking_uri.removeprefix("sqlite:///").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def sqlite_uri(db: Path) -> str:
    """The tracking URI of the sqlite file `db` (absolute)."""
    return f"sqlite:///{db.absolute()}"


def shared_store(workdir: Path) -> Path:
    """The store that the studies of `workdir` share."""
    return workdir / STORE_FILE


def own_store(workdir: Path, study: str) -> Path:
    """Where a study of an earlier version kept its own store."""
    return workdir / study / STORE_FILE


def default_tracking_uri(workdir: Path, study: str) -> str:
    """The tracking URI of `study` in `workdir` when its config names none: its own earlier
    store if that store is in use by it (`own_store_in_use`), else the workdir's shared one."""
    own = own_store(workdir, study)
    if own.is_file() and own_store_in_use(own, study):
        return sqlite_uri(own)
    return sqlite_uri(shared_store(workdir))


def own_store_in_use(db: Path, study: str) -> bool:
    """Whether the sqlite file `db` holds `study`'s parent run, or cannot be read (then the
    driver opens it and says what is wrong with it, rather than starting the study afresh in
    the shared store). An empty file or one without MLflow's tables is not in use."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if not {"runs", "tags"} <= tables:
                return False
            return int(conn.execute(_KNOWS_STUDY, (study,)).fetchone()[0]) > 0
    except sqlite3.Error:
        return True
