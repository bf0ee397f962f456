"""The files of one trial attempt, written before it is launched.

``<study dir>/trials/<index>-a<attempt>/`` holds ``job.yaml`` (the `TrainJob`), ``trial.json``
(what `studies.trial_process` runs: the train and eval commands, where their results land)
and, once run, the logs, ``eval.json`` and ``outcome.json``. Any trial can be re-run by hand:
``python -m studies.trial_process <trial dir>/trial.json``.

With checkpoint fidelity (``search.fidelity``) the job also has a ``checkpoint_hook``: at each
checkpoint fraction short of the full budget the trainer saves a checkpoint and runs
``python -m studies.checkpoint_eval <trial dir>/trial.json --fraction F --checkpoint FOLDER``,
which runs ``trial.json``'s ``checkpoint_eval`` command (the trial's ``mixopt eval`` with
``{out}`` for its result, without MLflow) and adds the metrics to ``checkpoints.json``;
``trial.json``'s ``checkpoints`` lists the study's fractions (the trial process adds the full
run's evaluation as the last one).

A folder is bound to one attempt by its MLflow run id (in ``trial.json``, the job's
``tracking.run_id`` and the outcome). A folder found holding files of another run (a study run
again under the same name and workdir with a new store or experiment) is moved, whole, to
``<study dir>/superseded/<folder>-<its run id>/`` before the attempt's files are written: no
result, checkpoint or log of it is ever read as this attempt's, and none is lost.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml

from rlvr.atomic_write import write_text_atomic
from rlvr.job import save_job
from studies.config import StudyConfig
from studies.launchers.base import TrialSpec

TRIAL_FILE = "trial.json"
JOB_FILE = "job.yaml"
EVAL_FILE = "eval.json"
OUTCOME_FILE = "outcome.json"
INLINE_DOMAINS_FILE = "inline_domains.yaml"
CHECKPOINT_PLACEHOLDER = "{checkpoint}"
OUT_PLACEHOLDER = "{out}"
SCHEMA_VERSION = 1
SUPERSEDED_DIR = "superseded"


def default_mixopt_command() -> list[str]:
    """This Python running the CLI module: works in any virtual environment, no PATH needed."""
    return [sys.executable, "-m", "studies.cli"]


def inline_domain_file(config: StudyConfig) -> Path | None:
    """Write the config's inline domain definitions into the study folder; their file."""
    if not config.inline_domains:
        return None
    path = config.study_dir / INLINE_DOMAINS_FILE
    specs = [spec.model_dump(mode="json", exclude_defaults=True) for spec in config.inline_domains]
    write_text_atomic(path, yaml.safe_dump(specs, sort_keys=False))
    return path


def folder_run_id(trial_dir: Path) -> str | None:
    """The run id of the attempt whose ``trial.json`` is in `trial_dir` (None: none readable)."""
    try:
        data = json.loads((trial_dir / TRIAL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    run_id = data.get("run_id") if isinstance(data, dict) else None
    return run_id if isinstance(run_id, str) else None


def clear_foreign_folder(trial_dir: Path, run_id: str, study_dir: Path) -> Path | None:
    """Move `trial_dir` aside when it holds anything of another run than `run_id`.

    Returns where it went (``<study_dir>/superseded/<name>-<run id>``), or None when the
    folder is absent, empty, or already this attempt's (a relaunch of the same attempt).
    """
    if not trial_dir.is_dir() or not any(trial_dir.iterdir()):
        return None
    found = folder_run_id(trial_dir)
    if found == run_id:
        return None
    tag = found if found is not None else f"unknown-{time.time_ns()}"
    target = study_dir / SUPERSEDED_DIR / f"{trial_dir.name}-{tag}"
    if target.exists():
        target = target.with_name(f"{target.name}-{time.time_ns()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    trial_dir.rename(target)
    return target


def prepare_trial(config: StudyConfig, spec: TrialSpec, mixopt: list[str] | None = None) -> Path:
    """Write ``job.yaml`` and ``trial.json`` into ``spec.trial_dir``; returns ``trial.json``.

    A folder left there by another run is moved aside first (`clear_foreign_folder`).
    """
    trial_dir = Path(spec.trial_dir)
    clear_foreign_folder(trial_dir, spec.run_id, config.study_dir)
    trial_dir.mkdir(parents=True, exist_ok=True)
    extra = inline_domain_file(config)
    domain_files = (*config.domain_files, *([extra] if extra is not None else []))
    fractions = checkpoint_fractions(config)
    hook = None if not fractions else {
        "fractions": list(fractions),
        "command": [sys.executable, "-m", "studies.checkpoint_eval", str(trial_dir / TRIAL_FILE),
                    "--fraction", "{fraction}", "--checkpoint", CHECKPOINT_PLACEHOLDER]}
    job = config.train_job(dict(spec.weights), output_dir=trial_dir / "train",
                           run_id=spec.run_id, domain_files=domain_files, checkpoint_hook=hook,
                           proxy=spec.proxy)
    save_job(job, trial_dir / JOB_FILE)
    mixopt = list(mixopt or default_mixopt_command())
    ev = config.eval

    def eval_command(out: str, *mlflow: str) -> list[str]:
        cmd = [
            *mixopt, "eval", "--checkpoint", CHECKPOINT_PLACEHOLDER,
            "--benchmarks", ",".join(ev.benchmarks), "--out", out, *mlflow,
            "--batch-size", str(ev.batch_size), "--max-new-tokens", str(ev.max_new_tokens),
            "--backend", ev.backend, "--seed", str(spec.seed),
        ]
        if ev.limit is not None:
            cmd += ["--limit", str(ev.limit)]
        for path in domain_files:
            cmd += ["--domain-file", str(path)]
        return cmd + list(ev.extra_args)

    content = {
        "schema_version": SCHEMA_VERSION, "study": spec.study, "index": spec.index,
        "attempt": spec.attempt, "run_id": spec.run_id, "trial_dir": str(trial_dir),
        "num_processes": job.grpo.num_processes,
        "train": [*mixopt, "train", str(trial_dir / JOB_FILE)],
        "eval": eval_command(str(trial_dir / EVAL_FILE), "--mlflow-run", spec.run_id,
                             "--mlflow-tracking-uri", config.tracking_uri),
        "train_output": str(job.output_dir),
        "eval_result": str(trial_dir / EVAL_FILE),
    }
    if config.search.fidelity is not None:
        # Checkpoints are evaluated without MLflow: the driver logs them from checkpoints.json.
        content["checkpoints"] = list(config.search.fidelity.checkpoints)
        content["checkpoint_eval"] = eval_command(OUT_PLACEHOLDER)
    return write_text_atomic(trial_dir / TRIAL_FILE, json.dumps(content, indent=2) + "\n")


def checkpoint_fractions(config: StudyConfig) -> tuple[float, ...]:
    """The fractions at which a trial's trainer evaluates a checkpoint: the study's
    checkpoints short of the full budget (the full run is the trial's own evaluation)."""
    fidelity = config.search.fidelity
    return () if fidelity is None else tuple(f for f in fidelity.checkpoints if f < 1.0)
