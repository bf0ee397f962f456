"""`mixopt eval --checkpoint PATH --benchmarks lisa,sat,scienceqa`: score a checkpoint.

Writes the `EvalResult` (``eval.json`` by default; ``--samples`` adds the per-completion JSONL
beside it), logs the metrics to an MLflow run when one is given, and prints a table. User
mistakes end in one red line and exit code 2 (see `studies.cli.main`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from mixopt.errors import MixoptError
from rlvr.data_limits import MAX_BAD_FRACTION
from studies.cli.rlvr_errors import as_mixopt_errors, one_line

if TYPE_CHECKING:
    from evaluators import EvalResult, GenerationSettings
    from evaluators.lmms import LmmsBenchmark

# `evaluators` imports torch and MLflow (seconds), so it is imported when the command runs, and
# these two defaults of the options are copies of `evaluators.lmms.DEFAULT_MODEL` and
# `evaluators.lmms.EXTRACTIONS` (tests/studies/test_cli_eval.py keeps them equal).
LMMS_DEFAULT_MODEL = "qwen2_vl"
MATHVISTA_EXTRACTIONS = ("rule", "judge")

DEFAULT_OUT = Path("eval.json")


@contextlib.contextmanager
def _as_mixopt_errors() -> Iterator[None]:
    """rlvr's and evaluators' user-facing errors (and MLflow's) as one-line `MixoptError`s."""
    from mlflow.exceptions import MlflowException

    from evaluators import EvaluationError

    with as_mixopt_errors():
        try:
            yield
        except (EvaluationError, MlflowException) as error:
            raise MixoptError(one_line(error)) from error


def parse_benchmarks(text: str) -> list[str]:
    """``"lisa, sat"`` -> ``["lisa", "sat"]`` (empty items dropped)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def split_benchmarks(
    names: list[str], domain_benchmarks: tuple[str, ...], lmms_tasks: tuple[LmmsBenchmark, ...] = ()
) -> tuple[list, list]:
    """``(in-domain names, lmms-eval names)``: a registered domain with a test split keeps its
    name; otherwise the reference's out-of-domain names (chartqa, infovqa, mathvista, mmmu) and
    the ``--lmms-task`` names go to lmms-eval."""
    from evaluators.lmms import is_lmms_benchmark

    ood = [
        n for n in names if n not in domain_benchmarks and is_lmms_benchmark(n, lmms_tasks)
    ]
    return [n for n in names if n not in ood], ood


def parse_model_args(text: str | None) -> dict[str, str]:
    """``"max_pixels=602112,device=cpu"`` -> ``{"max_pixels": "602112", "device": "cpu"}``."""
    items = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise MixoptError(f"--lmms-model-args: expected key=value, got {part!r}")
        items[key.strip()] = value.strip()
    return items


def _settings(**options: object) -> GenerationSettings:
    from evaluators import GenerationSettings

    try:
        return GenerationSettings(**options)
    except ValidationError as error:
        problems = "; ".join(
            f"--{'-'.join(map(str, e['loc'])).replace('_', '-') or 'options'}: {e['msg']}"
            for e in error.errors()
        )
        raise MixoptError(problems) from None


def _print_table(result: EvalResult, out: Path) -> None:
    console = Console()
    step = "" if result.step is None else f" (step {result.step})"
    table = Table(title=f"{result.checkpoint}{step}", title_justify="left")
    for column in ("benchmark", "metric", "score", "stderr", "n", "skipped", "format"):
        table.add_column(column, justify="left" if column in ("benchmark", "metric") else "right")
    for name, score in result.benchmarks.items():
        table.add_row(
            name, score.metric, f"{score.score:.4f}",
            "-" if score.stderr is None else f"{score.stderr:.4f}",
            str(score.n), str(score.n_skipped),
            "-" if score.format_rate is None else f"{score.format_rate:.2f}",
        )
    console.print(table)
    for name, value in result.objectives.items():
        console.print(f"[bold]{name}[/bold] {value:.4f}")
    console.print(f"result: {out}")


def eval_checkpoint(
    checkpoint: Annotated[str, typer.Option(
        help="Model folder with its processor (e.g. OUTPUT_DIR/final), or a cached hub id.")],
    benchmarks: Annotated[str, typer.Option(
        help="Comma-separated domains with a test split, e.g. lisa,sat,scienceqa.")],
    limit: Annotated[int | None, typer.Option(
        min=1, help="Score only the first N test records of each benchmark.")] = None,
    out: Annotated[Path, typer.Option(help="Where to write the result (JSON).")] = DEFAULT_OUT,
    samples: Annotated[bool, typer.Option(
        "--samples", help="Also write every completion to <out stem>.samples.jsonl.")] = False,
    mlflow_run: Annotated[str | None, typer.Option(
        help="MLflow run id to log the metrics into (e.g. the trial's run).")] = None,
    mlflow_tracking_uri: Annotated[str | None, typer.Option(
        help="MLflow tracking URI (default: MLflow's).")] = None,
    domain_file: Annotated[list[Path] | None, typer.Option(
        "--domain-file", help="YAML file of user domains (repeatable).")] = None,
    step: Annotated[int | None, typer.Option(
        min=0, help="Training step of the checkpoint (default: read from the folder).")] = None,
    backend: Annotated[str, typer.Option(help="Generation backend: auto, hf, vllm.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Prompts per generate call.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="Completion length cap, tokens.")] = 1024,
    do_sample: Annotated[bool, typer.Option(
        "--do-sample", help="Sample instead of greedy decoding.")] = False,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 1.0,
    samples_per_prompt: Annotated[int, typer.Option(
        help="Completions per prompt (needs --do-sample).")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of sampling.")] = 0,
    device: Annotated[str | None, typer.Option(
        help="Device of the model, e.g. cuda:0 (default: CPU).")] = None,
    max_bad_fraction: Annotated[float, typer.Option(
        help="Largest fraction of unreadable test records skipped before it is an error.")
    ] = MAX_BAD_FRACTION,
    lmms_model: Annotated[str, typer.Option(
        help="lmms-eval model class for out-of-domain benchmarks (qwen2_vl; Qwen2.5-VL: "
        "qwen2_5_vl).")] = LMMS_DEFAULT_MODEL,
    lmms_model_args: Annotated[str | None, typer.Option(
        help="More lmms-eval --model_args, e.g. max_pixels=602112,device=cpu,device_map=cpu.")
    ] = None,
    mathvista_extraction: Annotated[str, typer.Option(
        help=f"MathVista answer extraction: {' or '.join(MATHVISTA_EXTRACTIONS)} (rule: no API "
        "key).")
    ] = "rule",
    lmms_timeout: Annotated[float | None, typer.Option(
        min=1, help="Seconds before the lmms-eval run is stopped (default: none).")] = None,
    lmms_task: Annotated[list[str] | None, typer.Option(
        "--lmms-task", help="Another lmms-eval task as TASK:METRIC (repeatable); name TASK in "
        "--benchmarks to score it (out of domain).")] = None,
    lmms_include_path: Annotated[Path | None, typer.Option(
        exists=True, file_okay=False, help="Folder of lmms-eval task YAMLs for --lmms-task "
        "(lmms-eval's --include_path).")] = None,
) -> None:
    """Score a checkpoint on the held-out test splits of domains (and, through lmms-eval, on
    chartqa, infovqa, mathvista, mmmu); write eval.json."""
    from mlflow.tracking import MlflowClient

    from evaluators import (
        EvalResult,
        benchmark_names,
        checkpoint_step,
        evaluate_checkpoint,
        log_eval_result,
        objectives_of,
        samples_path_for,
        write_result,
        write_samples,
    )
    from evaluators.lmms import EXTRACTIONS, evaluate_lmms, lmms_eval_location, parse_lmms_task
    from rlvr.domains import default_registry

    settings = _settings(
        backend=backend, batch_size=batch_size, max_new_tokens=max_new_tokens,
        do_sample=do_sample, temperature=temperature, top_p=top_p,
        samples_per_prompt=samples_per_prompt, seed=seed,
    )
    names = parse_benchmarks(benchmarks)
    extra_args = parse_model_args(lmms_model_args)
    if mathvista_extraction not in EXTRACTIONS:
        raise MixoptError(f"--mathvista-extraction must be {' or '.join(EXTRACTIONS)}")
    with _as_mixopt_errors():
        registry = default_registry(domain_file or ())
        user_tasks = tuple(parse_lmms_task(text) for text in lmms_task or ())
        in_domain, ood = split_benchmarks(names, benchmark_names(registry), user_tasks)
        if ood:
            lmms_eval_location()  # not installed: say how, before any generation
        client = None
        if mlflow_run is not None:
            client = MlflowClient(tracking_uri=mlflow_tracking_uri)
            client.get_run(mlflow_run)  # fail before generating, not after
        if in_domain:
            result, outputs = evaluate_checkpoint(
                checkpoint, in_domain, registry, settings, limit=limit, step=step,
                device=device, max_bad_fraction=max_bad_fraction,
            )
        else:
            result, outputs = EvalResult(
                checkpoint=checkpoint, benchmarks={},
                step=step if step is not None else checkpoint_step(checkpoint),
                settings={"limit": limit},
            ), []
        if ood:
            if device is not None:
                extra_args = {"device": device, "device_map": device, **extra_args}
            scores = evaluate_lmms(
                checkpoint, ood, output_path=out.parent / f"{out.stem}.lmms",
                mathvista_extraction=mathvista_extraction, limit=limit,
                batch_size=batch_size, model=lmms_model, model_args=extra_args,
                tasks=user_tasks, include_path=lmms_include_path, timeout_s=lmms_timeout,
            )
            merged = {**result.benchmarks, **scores}
            result = result.model_copy(update={
                "benchmarks": {n: merged[n] for n in names},
                "objectives": objectives_of(merged),
                "settings": {**result.settings, "lmms_model": lmms_model,
                             "mathvista_extraction": mathvista_extraction},
            })
        write_result(result, out)
        if samples:
            write_samples(outputs, samples_path_for(out))
        if client is not None:
            log_eval_result(client, mlflow_run, result)
    _print_table(result, out)

