"""Finding a study to look into it, from a config path or its name in a tracking store.

`locate_study` does the checks that need no store (and raises what `studies.driver.open_study`
raises); `read_study` then reads the study from a sqlite store without MLflow
(`studies.store_reader`) and gives the view `open_study` gives, or None where that reader is
not sure (the caller then opens it with `open_study`, MLflow's client). What `study status`
uses: MLflow's import is most of its time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mixopt.errors import MixoptError
from studies.analysis import StudyView, view_of
from studies.config import DEFAULT_EXPERIMENT, StudyConfig, load_study_config
from studies.resume_check import DIRECTION_TAG, OBJECTIVE_TAG, as_configured
from studies.store_location import sqlite_path
from studies.store_reader import read_stored_study
from studies.trials import TrialRecord


class StudyNotFoundError(MixoptError):
    """No study of that name or path."""


class StudyStoreMismatchError(MixoptError):
    """The study's folder and its tracking store disagree (the store lost the study)."""


def study_files_on_disk(config: StudyConfig) -> list[str]:
    """What a study that has run leaves in its folder: trial folders, study.json,
    recommendation.json (names, for a message); empty for a study that never ran."""
    folder = config.study_dir
    found = []
    trials = folder / "trials"
    if trials.is_dir():
        n = sum(1 for p in trials.iterdir() if p.is_dir())
        if n:
            found.append(f"{n} trial folder(s)")
    found += [name for name in ("study.json", "recommendation.json") if (folder / name).is_file()]
    return found


def refuse_lost_store(config: StudyConfig, uri: str) -> None:
    """Raise `StudyStoreMismatchError` if the study's folder holds what a run leaves."""
    found = study_files_on_disk(config)
    if found:
        raise StudyStoreMismatchError(
            f"study {config.name!r}: {config.study_dir} holds {', '.join(found)} but the "
            f"MLflow store {uri} (experiment {config.tracking.experiment!r}) "
            "knows no such study (store deleted, truncated or replaced?); rebuild its "
            "completed trials from the folder with `mixopt study recover CONFIG`, or move the "
            "folder away to start afresh")


@dataclass(frozen=True)
class StudyTarget:
    """Where a study's records are: its name, store, experiment, and config (None when opened
    by name)."""

    name: str
    uri: str
    experiment: str
    config: StudyConfig | None


def locate_study(study: str, *, tracking_uri: str | None = None, experiment: str | None = None,
                 workdir: Path | None = None) -> StudyTarget:
    """The store and experiment of `study` (a config path, ``*.yaml``, or a study name).

    Raises:
        StudyConfigError: a config path with errors.
        StudyNotFoundError: no such file, a study that has not run (no folder, no store), or
            a name without a store.
        StudyStoreMismatchError: a missing store of a study whose folder holds trials.
    """
    path = Path(study)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise StudyNotFoundError(f"{path}: no such study file")
        config = load_study_config(path, workdir=workdir)
        if tracking_uri is None and not config.study_dir.exists():
            raise StudyNotFoundError(
                f"study {config.name!r} has not run yet (no {config.study_dir}); "
                f"start it with: mixopt study run {path}")
        uri = tracking_uri or config.tracking_uri
        db = sqlite_path(uri)
        if db is not None and not db.exists():  # say so rather than create an empty store
            refuse_lost_store(config, uri)
            raise StudyNotFoundError(f"study {config.name!r} has no store yet ({db}); "
                                     f"start it with: mixopt study run {path}")
        return StudyTarget(config.name, uri, experiment or config.tracking.experiment, config)
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if uri is None:
        raise StudyNotFoundError(
            f"{study!r} is not a study file; to open a study by name give --tracking-uri "
            "(or set MLFLOW_TRACKING_URI)")
    return StudyTarget(study, uri, experiment or DEFAULT_EXPERIMENT, None)


def not_found(target: StudyTarget) -> StudyNotFoundError:
    return StudyNotFoundError(f"no study named {target.name!r} in {target.uri} "
                              f"(experiment {target.experiment!r})")


def view_from_parent(target: StudyTarget, params: Mapping[str, str], tags: Mapping[str, str],
                     trials: Sequence[TrialRecord], parent: str) -> StudyView:
    """The view of a study opened by name: its settings from its parent run's params and tags.

    Raises:
        StudyNotFoundError: a parent run without the study's parameters.
    """
    try:
        proxies = json.loads(params.get("proxies", "{}"))  # absent in studies before it
        return StudyView(  # a resume with a changed objective records it in tags (params stay)
            name=target.name, domains=tuple(params["domains"].split(",")),
            objective=tags.get(OBJECTIVE_TAG, params["objective"]),
            maximize=tags.get(DIRECTION_TAG, params["direction"]) == "maximize",
            surrogate=params["surrogate"],
            surrogate_options=json.loads(params.get("surrogate_options", "{}")),
            trials=tuple(trials),
            bounds={k: tuple(v) for k, v in json.loads(params.get("bounds", "{}")).items()},
            seed=int(params.get("seed", 0)), parent_run_id=parent,
            proxy_costs={k: float(v) for k, v in proxies.get("costs", {}).items()},
            proxy_kernel=proxies.get("kernel"))
    except (KeyError, ValueError, AttributeError) as err:
        raise StudyNotFoundError(f"study {target.name!r} in {target.uri}: its parent run lacks "
                                 f"the study parameters ({err})") from None


@dataclass(frozen=True)
class ReadStudy:
    """A study read without MLflow: the view `open_study` gives, its config (None when opened
    by name), and its parent run's tags, latest metrics, metric history and artifact URI."""

    view: StudyView
    config: StudyConfig | None
    parent_tags: Mapping[str, str] = field(default_factory=dict)
    parent_metrics: Mapping[str, float] = field(default_factory=dict)
    parent_history: Mapping[str, list[tuple[int, float]]] = field(default_factory=dict)
    parent_artifact_uri: str | None = None


def read_study(study: str, *, tracking_uri: str | None = None, workdir: Path | None = None,
               parent_history: Sequence[str] = ()) -> ReadStudy | None:
    """`study` as `studies.driver.open_study` would open it, read from its sqlite store
    directly (with the ``(step, value)`` history of the parent run's metrics `parent_history`);
    None where the store cannot be read so (`studies.store_reader`) or holds no such study
    (then `open_study` says why or creates what it creates).

    Raises:
        what `locate_study` raises; StudyStoreMismatchError: the store does not know a study
            whose folder holds trials; LedgerError: a corrupt trial record.
    """
    target = locate_study(study, tracking_uri=tracking_uri, workdir=workdir)
    stored = read_stored_study(target.uri, target.experiment, target.name, parent_history)
    if stored is None:
        return None
    if stored.parent is None:
        if target.config is not None:
            refuse_lost_store(target.config, target.uri)
        return None
    parent = stored.parent
    if target.config is not None:  # an edited objective shows before the next run
        view = view_of(target.config, as_configured(target.config, stored.trials),
                       parent.run_id)
    else:
        view = view_from_parent(target, parent.params, parent.tags, stored.trials,
                                parent.run_id)
    return ReadStudy(view, target.config, parent.tags, parent.metrics, parent.history,
                     parent.artifact_uri)
