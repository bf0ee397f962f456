"""What a resumed study may change: the config being run against the one that ran.

The stored config is ``<study dir>/study.json`` (also an artifact of the study's parent run).
Every key of the two configs is compared (dotted paths such as ``search.bounds.alpha``), and
each difference falls in one of three classes:

- **safe**: how many trials, how fast and where, not what a trial measures. Resumed as is:
  `SAFE_KEYS` (``search.max_trials``, ``parallelism``, ``batch_size``, ``max_retries``,
  ``trial_timeout_s``, ``stopping``, ``early_stopping`` (it decides on running trials only),
  ``confirm``, the surrogate, ``fidelity.kernel``, ``proxies.kernel``,
  ``proxies.min_target_runs`` and ``noise_sd`` (refitted from
  the ledger every round), ``description``, ``tracking``, ``workdir``, ``domain_files`` (paths;
  the domains themselves are compared), and the launcher's resources: every ``launcher.*`` key
  but ``kind`` and ``target``).
- **objective**: ``eval.objective`` and ``eval.secondary_objective``. Every completed attempt's
  objective is recomputed from its metrics in the ledger (one line says so); an attempt that
  lacks a metric the new objective needs refuses the resume, naming the trial and the metric.
- **unsafe**, everything else (and any key not listed: a new setting is unsafe until decided):
  the domains (list and order: the design numbers its points by position), ``search.bounds``,
  ``search.initial_design`` and ``search.seed`` (the design's points are numbered by trial, a
  change would mix two designs), the whole ``train`` section (model, budget, seed, GRPO),
  ``eval``'s benchmarks, limit, generation settings and backend, ``launcher.kind`` and
  ``launcher.target``. Refused in one line naming every differing key with ``old -> new``;
  nothing is written.

After a resume that changed anything, ``study.json`` is replaced by the config being run (and
logged to the parent run again), so the next resume compares with what ran last.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixopt.errors import MixoptError
from rlvr.atomic_write import write_text_atomic
from studies.config import StudyConfig
from studies.ledger_schema import OBJECTIVE_METRIC
from studies.trials import TrialRecord, TrialStatus

if TYPE_CHECKING:  # MLflow's import takes seconds: `study status` (as_configured) needs none
    from studies.ledger import Ledger

STUDY_FILE = "study.json"
OBJECTIVE_TAG = "mixopt.objective"
DIRECTION_TAG = "mixopt.direction"
IDLE_ROUNDS_TAG = "mixopt.idle_rounds"  # the stopping rule's count (studies.orchestrator)
SAFE_KEYS = (
    "schema_version", "description", "workdir", "domain_files", "tracking",
    "search.max_trials", "search.parallelism", "search.batch_size", "search.max_retries",
    "search.trial_timeout_s", "search.stopping", "search.confirm", "search.surrogate",
    "search.noise_sd", "search.acquisition", "search.early_stopping", "search.fidelity.kernel",
    "search.proxies.kernel", "search.proxies.min_target_runs",
)
OBJECTIVE_KEYS = ("eval.objective", "eval.secondary_objective")
UNSAFE_LAUNCHER_KEYS = ("launcher.kind", "launcher.target")
_SHOWN = 60  # characters of a value in a message


class ResumeRefusedError(MixoptError):
    """The config being run differs from the study's stored config in a way that would mix
    incomparable trials (or a completed trial lacks what a new objective needs)."""


@dataclass(frozen=True)
class ConfigChange:
    """One differing key: its dotted path, old and new value (None: absent), and class."""

    key: str
    old: Any
    new: Any
    kind: str  # "safe" | "objective" | "unsafe"

    def describe(self) -> str:
        return f"{self.key}: {_show(self.old)} -> {_show(self.new)}"


def stored_config(config: StudyConfig, ledger: Ledger, parent: str) -> dict[str, Any] | None:
    """The config the study last ran with, as a JSON dict: ``study.json`` in its folder, else
    the parent run's artifact; None when neither exists (a study that never logged one)."""
    path = config.study_dir / STUDY_FILE
    text = None
    if path.is_file():
        text = path.read_text(encoding="utf-8")
    else:
        from mlflow.exceptions import MlflowException

        try:
            with tempfile.TemporaryDirectory() as tmp:
                text = Path(ledger.client.download_artifacts(parent, STUDY_FILE, tmp)) \
                    .read_text(encoding="utf-8")
        except (MlflowException, OSError):
            return None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ResumeRefusedError(f"{path}: the study's stored config is not JSON ({err}); "
                                 "restore it, or delete it to resume unchecked") from None
    if not isinstance(data, dict):
        raise ResumeRefusedError(f"{path}: the study's stored config is not a JSON object")
    return data


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ConfigChange]:
    """Every key whose value differs between two config dicts, classified, sorted by key."""
    a, b = dict(_flat(old)), dict(_flat(new))
    changes = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            changes.append(ConfigChange(key, a.get(key), b.get(key), classify(key)))
    return changes


def classify(key: str) -> str:
    """``safe``, ``objective`` or ``unsafe`` for a dotted config key (see the module doc)."""
    if _under(key, OBJECTIVE_KEYS):
        return "objective"
    if _under(key, SAFE_KEYS):
        return "safe"
    if _under(key, ("launcher",)) and not _under(key, UNSAFE_LAUNCHER_KEYS):
        return "safe"
    return "unsafe"


def check_resume(config: StudyConfig, ledger: Ledger, parent: str) -> list[str]:
    """Compare `config` with the study's stored config before resuming it; recompute the
    objective of every completed attempt if the objective changed.

    Returns:
        One line per thing done or noticed (empty: the configs are the same).

    Raises:
        ResumeRefusedError: an unsafe difference (every differing key named, old -> new), or
            a completed attempt that lacks a metric of the new objective(s); nothing written.
    """
    old = stored_config(config, ledger, parent)
    if old is None:
        path = write_text_atomic(config.study_dir / STUDY_FILE, config.model_dump_json(indent=2))
        ledger.log_study_artifact(parent, str(path))
        return [f"study {config.name!r}: no stored config to compare with; resumed unchecked "
                f"(this config is now stored in {path})"]
    changes = config_changes(old, config.model_dump(mode="json"))
    if not changes:
        return []
    unsafe = [c for c in changes if c.kind == "unsafe"]
    if unsafe:
        raise ResumeRefusedError(
            f"study {config.name!r} cannot resume with this config: "
            + "; ".join(c.describe() for c in unsafe)
            + f" (trials run with the old settings would be mixed with new ones); restore "
            f"them, or run it as a new study (another name or workdir). Stored config: "
            f"{config.study_dir / STUDY_FILE}")
    notes = []
    if any(c.kind == "objective" for c in changes):
        notes.append(_recompute_objectives(config, ledger, parent, changes))
    safe = [c.key for c in changes if c.kind == "safe"]
    if safe:
        notes.append(f"resumed with changed settings: {', '.join(safe)}")
    path = write_text_atomic(config.study_dir / STUDY_FILE, config.model_dump_json(indent=2))
    ledger.log_study_artifact(parent, str(path))
    return notes


def as_configured(config: StudyConfig, trials: list[TrialRecord]) -> list[TrialRecord]:
    """`trials` scored by `config`'s objective where it differs from the stored config's (read
    only: what `study status` shows of an edited config before the next `run` recomputes it);
    a completed attempt lacking its metric shows no objective. Unchanged: `trials` as given."""
    path = config.study_dir / STUDY_FILE
    try:
        old = json.loads(path.read_text(encoding="utf-8"))["eval"]["objective"]
    except (OSError, ValueError, KeyError, TypeError):
        return trials
    objective = config.eval.objective
    if old == objective.model_dump(mode="json"):
        return trials
    rescored = []
    for r in trials:
        if r.status is TrialStatus.COMPLETED:
            try:
                r = replace(r, objective=objective.value(dict(r.metrics)))
            except (KeyError, ValueError):
                r = replace(r, objective=None)
        rescored.append(r)
    return rescored


def _recompute_objectives(config: StudyConfig, ledger: Ledger, parent: str,
                          changes: list[ConfigChange]) -> str:
    """Check every completed attempt has the new objectives' metrics, then log its new
    ``objective``; returns the line that says so. Raises ResumeRefusedError before writing."""
    done = [r for r in ledger.trials() if r.status is TrialStatus.COMPLETED]
    values: dict[str, float] = {}
    missing = []
    for r in done:
        for i, objective in enumerate(config.objectives):
            try:
                value = objective.value(dict(r.metrics))
            except (KeyError, ValueError):
                needed = ({objective.metric} if objective.metric is not None
                          else set(objective.weights or {}))
                lacking = sorted(needed - set(r.metrics)) or [objective.label]
                missing.append(f"trial {r.index} attempt {r.attempt} (run {r.run_id}) lacks "
                               f"{', '.join(map(repr, lacking))}")
                continue
            if i == 0:
                values[r.run_id] = value
    what = "; ".join(c.describe() for c in changes if c.kind == "objective")
    if missing:
        raise ResumeRefusedError(
            f"study {config.name!r}: the objective changed ({what}) but " + "; ".join(missing)
            + "; restore the objective, or run it as a new study")
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    for run_id, value in values.items():
        ledger.client.log_batch(run_id, metrics=[Metric(OBJECTIVE_METRIC, value, now, 0)])
    objective = config.eval.objective
    ledger.set_study_tags(parent, {OBJECTIVE_TAG: objective.label,
                                   DIRECTION_TAG: objective.direction,
                                   IDLE_ROUNDS_TAG: 0})  # idle rounds counted the old objective
    if values:
        sign = 1.0 if objective.maximize else -1.0
        ledger.log_study_metrics(parent, {"best_objective": max(
            values.values(), key=lambda v: sign * v)}, len(values))
    return (f"objective changed ({what}): recomputed the objective of {len(values)} completed "
            "trial attempt(s) from their stored metrics")


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted keys of nested dicts; lists and scalars are values. An empty dict yields nothing
    (``bounds: {}`` then ``bounds: {alpha: ...}`` is one change, of ``bounds.alpha``)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _flat(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _show(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."
