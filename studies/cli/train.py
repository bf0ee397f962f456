"""`mixopt train JOB.yaml`, or the quick form
`mixopt train --model M --mixture a=0.3,b=0.7 --budget N`.

The quick form builds the job in memory and writes it to ``OUTPUT_DIR/train_job.yaml`` first
(the trainer's own record of the job, so the folder holds one job file), so the run can be
repeated (or resumed) with `mixopt train OUTPUT_DIR/train_job.yaml`. A run that is already
complete is not run again: the command says so and exits.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from mixopt.errors import MixoptError, MixtureError
from rlvr.config_files import validation_error_lines
from studies.cli.rlvr_errors import as_mixopt_errors

if TYPE_CHECKING:
    from rlvr.job import TrainJob  # rlvr.job imports rlvr.domains (PIL, loaders): not at start
    from rlvr.training import TrainResult

QUICK_JOB_FILE = "train_job.yaml"  # = rlvr.training.JOB_RECORD (not imported: torch at start)
DEFAULT_RUNS_DIR = Path("mixopt-train")


def parse_mixture(text: str) -> dict[str, float]:
    """``"coco=0,lisa=0.3,sat=0.7"`` -> ``{"coco": 0.0, "lisa": 0.3, "sat": 0.7}``.

    Raises:
        MixtureError: an item that is not ``name=number``, or a name given twice. (Whether the
            names exist and the weights sum to 1 is checked with the job.)
    """
    weights: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            weight = float(value) if sep and name else None
        except ValueError:
            weight = None
        if weight is None:
            raise MixtureError(f"--mixture: expected name=weight items separated by commas, "
                               f"got {item!r} in {text!r}")
        if name in weights:
            raise MixtureError(f"--mixture: domain {name!r} is given twice")
        weights[name] = weight
    return weights


def quick_job(
    *,
    model: str,
    mixture: str,
    budget: int,
    output_dir: Path | None,
    seed: int,
    max_steps: int | None,
    domain_files: list[Path],
    tracking: dict[str, Any],
) -> TrainJob:
    """The job of the quick form (GRPO settings at their defaults).

    Raises:
        MixoptError: a bad mixture, unknown domains, invalid values (every problem, one line).
    """
    data: dict[str, Any] = {
        "model": model,
        "domain_files": [str(path.absolute()) for path in domain_files],
        "domains": parse_mixture(mixture),
        "budget": budget,
        "seed": seed,
        "tracking": tracking,
    }
    if max_steps is not None:
        data["max_steps"] = max_steps
    if output_dir is None:
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]
        output_dir = DEFAULT_RUNS_DIR / f"{Path(model).name or 'model'}-{digest}"
    data["output_dir"] = str(output_dir.absolute())
    from rlvr.domains import default_registry
    from rlvr.job import KNOWN_DOMAINS, TrainJob

    with as_mixopt_errors():
        known = default_registry(domain_files).names()
    try:
        return TrainJob.model_validate(data, context={KNOWN_DOMAINS: known})
    except ValidationError as error:
        lines = validation_error_lines("mixopt train", error, data)
        raise MixoptError("; ".join(lines)) from None


def _write_quick_job(job: TrainJob) -> Path:
    """Save the quick form's job as ``OUTPUT_DIR/train_job.yaml``, refusing to replace another
    job."""
    from rlvr.job import save_job

    path = job.output_dir / QUICK_JOB_FILE
    if path.is_file() and path.read_text(encoding="utf-8") != job.to_yaml():
        raise MixoptError(f"{path} holds another job; pass another --output-dir, or run it with "
                          f"`mixopt train {path}`")
    return save_job(job, path)


def _summary(result: TrainResult, output_dir: Path) -> None:
    from rlvr.training import RESULT_FILE

    console = Console()
    table = Table(title="samples per domain", title_justify="left")
    table.add_column("domain")
    table.add_column("prompts", justify="right")
    table.add_column("bad records skipped", justify="right")
    replaced = set(result.samples.get("with_replacement", ()))
    for name, count in result.samples["counts"].items():
        bad = result.bad_records.get(name, {}).get("bad", 0)
        table.add_row(name, f"{count}{' (with replacement)' if name in replaced else ''}",
                      str(bad))
    console.print(table)
    resumed = f", resumed from {result.resumed_from}" if result.resumed_from else ""
    memory = (f", peak GPU memory {result.peak_gpu_memory_gib:.1f} GiB"
              if result.peak_gpu_memory_gib is not None else "")
    console.print(f"[bold]trained[/bold] {result.steps} steps in "
                  f"{result.runtime_seconds:.1f} s{resumed}{memory}")
    console.print(f"final model: {result.final_checkpoint}")
    console.print(f"result: {output_dir / RESULT_FILE}")
    console.print(f"MLflow run: {result.mlflow_run_id}"
                  + (f" ({result.mlflow_tracking_uri})" if result.mlflow_tracking_uri else ""))


def train(
    job_file: Annotated[Path | None, typer.Argument(
        help="Job file (YAML, a TrainJob). Leave out for the quick form.")] = None,
    model: Annotated[str | None, typer.Option(
        help="Quick form: model folder or hub id.")] = None,
    mixture: Annotated[str | None, typer.Option(
        help="Quick form: weights by domain, e.g. coco=0,lisa=0.3,sat=0.7 (sum 1).")] = None,
    budget: Annotated[int | None, typer.Option(
        help="Quick form: number of training prompts.")] = None,
    output_dir: Annotated[Path | None, typer.Option(
        help=f"Quick form: output folder; default {DEFAULT_RUNS_DIR}/<model>-<hash>.")] = None,
    seed: Annotated[int, typer.Option(help="Quick form: seed.")] = 0,
    max_steps: Annotated[int | None, typer.Option(
        help="Quick form: stop after this many optimizer steps.")] = None,
    domain_file: Annotated[list[Path] | None, typer.Option(
        "--domain-file", help="Quick form: YAML file of user domains (repeatable).")] = None,
    mlflow_tracking_uri: Annotated[str | None, typer.Option(
        help="Quick form: MLflow tracking URI.")] = None,
    run_id: Annotated[str | None, typer.Option(
        help="Quick form: MLflow run to log into (default: a new run).")] = None,
    experiment: Annotated[str | None, typer.Option(
        help="Quick form: MLflow experiment of a new run.")] = None,
) -> None:
    """Train a model with GRPO on a fixed mixture of domains (resumes an interrupted run)."""
    # torch, transformers and TRL: seconds to import, so only when training.
    from rlvr.training import run_training
    from rlvr.training.distributed import is_main_process

    quick = {"--model": model, "--mixture": mixture, "--budget": budget}
    extras = {"--output-dir": output_dir, "--max-steps": max_steps, "--domain-file": domain_file,
              "--mlflow-tracking-uri": mlflow_tracking_uri, "--run-id": run_id,
              "--experiment": experiment}
    if job_file is not None:
        given = [flag for flag, value in {**quick, **extras}.items() if value]
        if given:
            raise MixoptError(f"give either JOB.yaml or the quick form's options, not both "
                              f"(got {', '.join(given)}); edit the job file instead")
        from rlvr.job import load_job

        with as_mixopt_errors():
            job = load_job(job_file)
    else:
        missing = [flag for flag, value in quick.items() if value is None]
        if missing:
            raise MixoptError(f"give a job file, or {', '.join(missing)} for the quick form")
        tracking = {key: value for key, value in {
            "mlflow_tracking_uri": mlflow_tracking_uri, "run_id": run_id,
            "experiment_name": experiment}.items() if value is not None}
        job = quick_job(model=model, mixture=mixture, budget=budget, output_dir=output_dir,
                        seed=seed, max_steps=max_steps, domain_files=domain_file or [],
                        tracking=tracking)
        path = _write_quick_job(job)
        typer.echo(f"job written to {path}")
    from rlvr.training import read_result

    with as_mixopt_errors():
        previous = read_result(job.output_dir)
    if previous is not None and previous.complete:
        if is_main_process():
            typer.echo(f"already trained, nothing to do: {job.output_dir} holds a complete run "
                       f"({previous.steps} steps; final model {previous.final_checkpoint})")
        return
    with as_mixopt_errors():
        result = run_training(job)
    if is_main_process():  # under `accelerate launch` every rank gets here
        _summary(result, job.output_dir)
