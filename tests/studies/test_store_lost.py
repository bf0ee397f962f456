"""A study whose store was deleted, truncated or corrupted, and where its artifacts go."""

from __future__ import annotations

import pytest

from studies.config import load_study_config
from studies.driver import StudyStoreMismatchError, open_study, run_study
from studies.ledger import LedgerError, sqlite_path
from tests.studies.study_files import function_study


@pytest.fixture
def finished(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXOPT_TEST_DELAY", "0")
    monkeypatch.chdir(tmp_path)
    config = load_study_config(function_study(tmp_path, max_trials=3, parallelism=1))
    run_study(config, poll_interval_s=0.01)
    return config


def test_deleted_or_truncated_store_is_refused_not_rerun(finished):
    db = sqlite_path(finished.tracking_uri)  # the workdir's shared store
    db.unlink()
    with pytest.raises(StudyStoreMismatchError, match=r"knows no such study.*study recover"):
        open_study(str(finished.study_dir.parent.parent / "study.yaml"))
    assert not db.exists()  # status did not create an empty store
    with pytest.raises(StudyStoreMismatchError, match="3 trial folder"):
        run_study(finished)
    db.write_bytes(b"")  # truncated to nothing: sqlite reads it as a new, empty store
    with pytest.raises(StudyStoreMismatchError, match="knows no such study"):
        run_study(finished)


def test_corrupt_store_gives_one_line(finished):
    db = sqlite_path(finished.tracking_uri)  # the workdir's shared store
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError) as info:
        run_study(finished)
    assert len(str(info.value).splitlines()) == 1 and str(db) in str(info.value)


def test_artifacts_land_in_the_study_folder(finished, tmp_path):
    assert not (tmp_path / "mlruns").exists()
    logged = list((finished.study_dir / "artifacts").rglob("recommendation.json"))
    assert logged, "the parent run's artifacts are not under the study's folder"
