"""`studies.local_artifacts.log_local_artifact` leaves what MLflow's local artifact repository
leaves (the installed MLflow, of `studies.store_reader.VERIFIED_SCHEMAS`)."""

from __future__ import annotations

import os
import stat
from importlib import metadata

import pytest

from mixopt.errors import MixoptError
from studies.local_artifacts import (
    UPLOADING_PREFIX,
    artifact_folder,
    is_local_artifact_uri,
    log_local_artifact,
)
from studies.store_reader import VERIFIED_SCHEMAS


def _tree(folder):
    """Relative path -> (bytes, mode, mtime) of every file under `folder`."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            info = path.stat()
            found[path.relative_to(folder).as_posix()] = (
                path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return found


def test_the_same_files_as_mlflows_local_repository(tmp_path):
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    assert metadata.version("mlflow") in VERIFIED_SCHEMAS
    page = tmp_path / "report.html"
    ours = tmp_path / "ours" / "a b" / "artifacts"  # "a b": a space, quoted in the URI
    theirs = tmp_path / "theirs" / "a b" / "artifacts"
    assert "%20" in ours.as_uri() and artifact_folder(ours.as_uri()) == ours
    when = 1_700_000_000_000_000_000
    for text, mode in ((b"<p>page</p>\n", 0o640), (b"<p>again</p>\n", 0o604)):
        page.write_bytes(text)  # a new folder, then a file replaced
        os.chmod(page, mode)
        os.utime(page, ns=(when, when))
        assert log_local_artifact(ours.as_uri(), page) == ours / page.name
        get_artifact_repository(theirs.as_uri()).log_artifact(str(page))
        assert _tree(ours) == _tree(theirs) == {"report.html": (text, mode, when)}


def test_a_file_already_in_place_and_refused_names(tmp_path):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    page = folder / "report.html"
    page.write_text("x", encoding="utf-8")
    assert log_local_artifact(folder.as_uri(), page) == page  # its own destination: left as is
    assert [p.name for p in folder.iterdir()] == ["report.html"]
    reserved = tmp_path / f"{UPLOADING_PREFIX}report.html"
    reserved.write_text("x", encoding="utf-8")
    with pytest.raises(MixoptError, match="reserved"):
        log_local_artifact(folder.as_uri(), reserved)
    for uri in ("s3://bucket/artifacts", "file://otherhost/artifacts", "mlflow-artifacts:/1/2"):
        assert not is_local_artifact_uri(uri)
        with pytest.raises(MixoptError, match="not a local artifact folder"):
            log_local_artifact(uri, page)
    assert is_local_artifact_uri(folder.as_uri()) and not is_local_artifact_uri(None)
