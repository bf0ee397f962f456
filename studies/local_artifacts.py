"""Logging a file as an artifact of a run whose artifact URI is a local ``file:`` folder,
without importing MLflow (about a CPU-second: its artifact repository module pulls in the
tracking client's modules).

`log_local_artifact` does what MLflow's ``LocalArtifactRepository.log_artifact`` does in the
MLflow versions of `studies.store_reader.VERIFIED_SCHEMAS` (checked against 3.17.2 and 3.18.0):
the folder of the URI (``urlparse(uri).path`` as a local path) is created, the file is copied
beside its destination under a hidden ``.artifact.uploading.*`` name, its mode and times are
copied over (``shutil.copystat``) and it is renamed onto ``<folder>/<file name>``; a file that
is already its own destination is left alone. Used only where the store was read without
MLflow (`studies.opening.read_study`), so only for those versions; anywhere else the caller
logs through MLflow's client. ``tests/studies/test_store_reader.py`` checks that the client
lists and downloads what is logged here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from mixopt.errors import MixoptError

# MLflow reserves names with this prefix for the files it is still writing.
UPLOADING_PREFIX = ".artifact.uploading."


def is_local_artifact_uri(uri: str | None) -> bool:
    """Whether `uri` names a folder on this machine (``file:`` with no host)."""
    if not uri or not uri.startswith("file:"):
        return False
    return urllib.parse.urlparse(uri).netloc in ("", "localhost")


def artifact_folder(uri: str) -> Path:
    """The local folder of a ``file:`` artifact URI (MLflow's ``local_file_uri_to_path``)."""
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path))


def log_local_artifact(artifact_uri: str, local_file: Path) -> Path:
    """Copy `local_file` into the run's artifact folder `artifact_uri` (a ``file:`` URI) as
    MLflow's client would; returns the logged file's path.

    Raises:
        MixoptError: `artifact_uri` is no local ``file:`` URI, or the file's name is one MLflow
            reserves.
        OSError: the file cannot be read or the folder written.
    """
    if not is_local_artifact_uri(artifact_uri):
        raise MixoptError(f"not a local artifact folder: {artifact_uri}")
    local_file = Path(local_file)
    if local_file.name.startswith(UPLOADING_PREFIX):
        raise MixoptError(f"invalid artifact file name {local_file.name!r}: names starting "
                          f"with {UPLOADING_PREFIX!r} are reserved")
    folder = artifact_folder(artifact_uri)
    folder.mkdir(parents=True, exist_ok=True)
    destination = folder / local_file.name
    try:
        if os.path.samefile(local_file, destination):
            return destination
    except FileNotFoundError:
        pass
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=UPLOADING_PREFIX)
    try:
        with os.fdopen(handle, "wb") as out, open(local_file, "rb") as source:
            shutil.copyfileobj(source, out)
        shutil.copystat(local_file, temporary)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination
