"""`mixopt study ...`: run a study, and look into it (status, predict, report, compare, publish).

A ``STUDY`` argument is a config path (``*.yaml``) or a study name in a tracking store
(``--tracking-uri``, or ``MLFLOW_TRACKING_URI``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mixopt.errors import FitError, MixoptError
from mixopt.threads import torch_threads
from rlvr.progress import PlainProgress
from studies.cli.tables import predict_table, print_table, status_table
from studies.ledger_schema import RECOMMENDATION_TAG
from studies.trials import latest_attempts

if TYPE_CHECKING:  # the study modules import MLflow and SciPy: in the commands, not at start
    from studies.analysis import StudyView
    from studies.config import StudyConfig
    from studies.driver import OpenedStudy
    from studies.opening import ReadStudy
    from studies.orchestrator import StudyOutcome, StudyProgress

app = typer.Typer(help="Run mixture-optimization studies and inspect them.", no_args_is_help=True)

StudyArg = Annotated[str, typer.Argument(help="Study config (.yaml) or study name in the store.")]
TrackingOpt = Annotated[str | None, typer.Option(
    help="MLflow tracking URI (to open a study by name, or to override the config's).")]
WorkdirOpt = Annotated[Path | None, typer.Option(help="Override the config's workdir.")]
WideOpt = Annotated[bool, typer.Option(
    "--wide", help="Tables at their natural width, even on a narrower terminal.")]


def _open(study: str, tracking_uri: str | None, workdir: Path | None) -> OpenedStudy:
    from studies.driver import open_study

    try:
        return open_study(study, tracking_uri=tracking_uri, workdir=workdir)
    except OSError as err:
        raise MixoptError(f"{study}: {err}") from None


def _read(study: str, tracking_uri: str | None, workdir: Path | None,
          parent_history: tuple[str, ...] = ()) -> ReadStudy | None:
    """The study read from a sqlite store without MLflow (`studies.opening.read_study`), or
    None: open it with `_open` (MLflow's client)."""
    from studies.opening import read_study

    try:
        return read_study(study, tracking_uri=tracking_uri, workdir=workdir,
                          parent_history=parent_history)
    except OSError as err:
        raise MixoptError(f"{study}: {err}") from None


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


# What the ± of a recommendation is (`mixopt.policy.PolicyRecommendation.std`).
NEW_RUN_SD = "± is the sd of a new training run of it: model uncertainty and run noise"


def recommendation_lines(rec: dict[str, Any], *, rule: bool = True) -> list[str]:
    """A recommendation (`Predicted.to_json`, as in recommendation.json) in plain lines: the
    mixture, its predicted objective ± the sd of a new training run (said so), and (with
    `rule`) why the best observed mixture was chosen when it was."""
    std = rec.get("std")
    spread = f" ± {_fmt(std)}" if std is not None else " (no sd known)"
    lines = [f"recommended mixture (predicted {_fmt(rec.get('mean'))}{spread}): "
             + ", ".join(f"{d}={w:.3f}" for d, w in rec["weights"].items())]
    if std is not None:
        lines.append(f"  {NEW_RUN_SD}")
    if rule and rec.get("rule") == "best-observed":
        lines.append(f"  chosen as the best observed mixture: {rec.get('reason', '')}")
    return lines


@app.command("run")
def run(
    config: Annotated[Path, typer.Argument(help="Study config (YAML).")],
    max_trials: Annotated[int | None, typer.Option(
        min=1, help="Stop after this many trials (default: the config's search.max_trials).")] =
    None,
    workdir: WorkdirOpt = None,
    poll_interval: Annotated[float | None, typer.Option(
        help="Seconds between polls of running trials.")] = None,
    warm_start_from: Annotated[list[str] | None, typer.Option(
        help="An earlier study (config or name in this store) over the same domains and "
        "objective whose completed trials the surrogate also fits; repeatable.")] = None,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Run STUDY to its end, or continue it where it stopped (completed trials never re-run)."""
    run_with_progress(config, workdir=workdir, max_trials=max_trials,
                      poll_interval=poll_interval, warm_start_from=warm_start_from,
                      tracking_uri=tracking_uri)


def run_with_progress(
    config: Path, *, workdir: Path | None = None, max_trials: int | None = None,
    poll_interval: float | None = None, warm_start_from: list[str] | None = None,
    tracking_uri: str | None = None,
) -> StudyOutcome:
    """Run a study with a progress bar and the summary at the end; returns its outcome.
    `tracking_uri` replaces the config's store (``tracking.uri``)."""
    from studies.config import load_study_config

    study = _with_store(load_study_config(config, workdir=workdir), tracking_uri)
    from studies.driver import run_study  # after the config: its errors come at once
    console = Console(stderr=True)
    console.print(f"study [bold]{study.name}[/]: {len(study.domain_names)} domains "
                  f"({', '.join(study.domain_names)}), objective {study.eval.objective.label} "
                  f"({study.eval.objective.direction}), launcher {study.launcher.kind}, "
                  f"store {study.tracking_uri}")
    total = max_trials or study.search.max_trials
    # With proxies, max_trials is a budget in target-run equivalents: count cost, not trials.
    by_cost = study.search.proxies is not None
    counts = (TextColumn("{task.completed:g}/{task.total:g} target-run equivalents") if by_cost
              else MofNCompleteColumn())
    with Progress(TextColumn("[bold]cost" if by_cost else "[bold]trials"), BarColumn(), counts,
                  TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task("", total=total)

        plain: list[PlainProgress] = []  # lines in a log file, where the bar does not draw

        def show(state: StudyProgress) -> None:
            best = "-" if state.best is None else f"{state.best:.4g} (trial {state.best_index})"
            running = ",".join(map(str, state.running)) or "-"
            done = state.trials_done if state.cost_done is None else state.cost_done
            progress.update(task, completed=done,
                            description=f"best {best}  running [{running}]")
            if not plain:
                unit = "target-run equivalents" if by_cost else "trial"
                plain.append(PlainProgress("study", total, unit=unit, interval_s=0, start=done))
            plain[0].update(done, extra=f"best {best}, running [{running}]")
            if state.message:
                progress.console.print(state.message)

        with torch_threads(1):
            outcome = run_study(study, max_trials=max_trials, on_progress=show,
                                poll_interval_s=poll_interval, warm_start_from=warm_start_from,
                                on_note=progress.console.print)
    _print_outcome(outcome, study.study_dir, config, workdir)
    problem = outcome_problem(outcome)
    if problem is not None:
        typer.secho(f"error: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    return outcome


def _with_store(config: StudyConfig, tracking_uri: str | None) -> StudyConfig:
    """`config` with its ``tracking.uri`` replaced by `tracking_uri` (when given)."""
    if not tracking_uri:
        return config
    return config.model_copy(update={"tracking": config.tracking.model_copy(
        update={"uri": tracking_uri})})


def outcome_problem(outcome: StudyOutcome) -> str | None:
    """Why a study that ended produced nothing usable (no completed trial, no recommendation),
    with how many trials failed and their commonest reasons; None when it did."""
    latest = latest_attempts(outcome.trials)
    done = [r for r in latest if r.status.value == "completed"]
    if done and outcome.recommendation is not None:
        return None
    failed = [r for r in latest if r.status.value in ("failed", "abandoned")]
    reasons: dict[str, int] = {}
    for r in failed:
        reasons[r.reason[:120] or "no reason recorded"] = reasons.get(
            r.reason[:120] or "no reason recorded", 0) + 1
    why = "; ".join(f"{n}x {reason}" for reason, n in
                    sorted(reasons.items(), key=lambda kv: -kv[1])[:3])
    if not done:
        stopped = sum(r.status.value == "stopped_early" for r in latest)
        return (f"the study ended with no completed trial: {len(failed)} of {len(latest)} "
                f"trial(s) failed or were abandoned" + (f" ({why})" if why else "")
                + (f", {stopped} stopped early" if stopped else ""))
    return (f"the study ended without a recommendation ({len(done)} completed, {len(failed)} "
            f"failed): " + ("; ".join(outcome.notes) or "the surrogate gave none"))


def _print_outcome(outcome: StudyOutcome, study_dir: Path, config: Path,
                   workdir: Path | None) -> None:
    console = Console()
    latest = latest_attempts(outcome.trials)
    counts: dict[str, int] = {}
    for r in latest:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    console.print("trials: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if outcome.stopped_early:
        console.print("stopped early by the stopping rule")
    best = outcome.best_observed
    if best is not None:
        console.print(f"best observed: trial {best.index}, objective {_fmt(best.objective)}: "
                      + ", ".join(f"{d}={w:.3f}" for d, w in best.weights.items()))
    rec = outcome.recommendation
    # (the notes below say why a rule chose it)
    for line in [] if rec is None else recommendation_lines(rec.to_json(), rule=False):
        console.print(line, markup=False, highlight=False)
    for note in outcome.notes:
        console.print(note)
    console.print(f"written: {study_dir / 'recommendation.json'}")
    where = f"{config}" + (f" --workdir {workdir}" if workdir is not None else "")
    console.print("look further:\n"
                  f"  mixopt study status {where}\n"
                  f"  mixopt study predict {where}\n"
                  f"  mixopt study report {where} --out report.html\n"
                  f"  mixopt ui {config}")


def status_json(view: StudyView, recommendation: dict[str, Any] | None = None) -> dict[str, Any]:
    best = view.best_observed()
    out = {
        "study": view.name, "objective": view.objective,
        "direction": "maximize" if view.maximize else "minimize",
        "trials": [r.to_json() for r in latest_attempts(view.trials)],
        "best": None if best is None else best.to_json(),
        "recommendation": recommendation,
    }
    spent = cost_spent(view)
    if spent is not None:
        out["cost_spent"] = spent
    return out


def cost_spent(view: StudyView) -> float | None:
    """With proxy trials: the cost of the study's trials in target-run equivalents (each
    trial at its fidelity's cost, `studies.orchestrator.spent_cost`); None without."""
    latest = latest_attempts(view.trials)
    if all(r.is_target for r in latest):
        return None
    return float(math.fsum(r.cost for r in latest if r.index >= 0))


def cost_line(view: StudyView) -> str | None:
    """`study status`'s line on what a study with proxies has spent, or None."""
    spent = cost_spent(view)
    if spent is None:
        return None
    latest = latest_attempts(view.trials)
    proxy = sum(not r.is_target for r in latest)
    return (f"cost spent: {spent:.4g} target-run equivalents ({len(latest) - proxy} target, "
            f"{proxy} proxy trial(s)); the best observed (*) is a target trial's")


def _recommendation(parent_tags: Mapping[str, str]) -> dict[str, Any] | None:
    """The recommendation the study's last run ended with (its parent run's tag), or None."""
    text = parent_tags.get(RECOMMENDATION_TAG)
    try:
        return None if text is None else json.loads(text)
    except json.JSONDecodeError:  # cut at the tag's length limit: recommendation.json has it
        return None


def _status_of(study: str, tracking_uri: str | None, workdir: Path | None
               ) -> tuple[StudyView, StudyConfig | None, dict[str, Any] | None]:
    """The study's view, config and last recommendation: read from a sqlite store without
    MLflow (studies/opening.py: seconds faster), through MLflow's client where that reader
    is not sure."""
    read = _read(study, tracking_uri, workdir)
    if read is not None:
        return read.view, read.config, _recommendation(read.parent_tags)
    opened = _open(study, tracking_uri, workdir)
    parent = opened.view.parent_run_id
    tags = {} if parent is None else opened.ledger.client.get_run(parent).data.tags
    return opened.view, opened.config, _recommendation(tags)


@app.command("status")
def status(study: StudyArg, as_json: Annotated[bool, typer.Option("--json")] = False,
           wide: WideOpt = False, tracking_uri: TrackingOpt = None,
           workdir: WorkdirOpt = None) -> None:
    """One row per trial: index, status, weights, objective."""
    from studies.recover import unrecorded_attempts

    view, config, rec = _status_of(study, tracking_uri, workdir)
    unknown = [] if config is None else unrecorded_attempts(config, list(view.trials))
    if unknown:  # the store lost some trials: `run` refuses until they are recovered
        typer.secho(f"warning: the store has no run of {len(unknown)} trial folder(s) in "
                    f"{config.study_dir / 'trials'} ({', '.join(unknown[:3])}"
                    f"{', ...' if len(unknown) > 3 else ''}); add them with "
                    "`mixopt study recover CONFIG`", fg=typer.colors.YELLOW, err=True)
    if as_json:
        typer.echo(json.dumps(status_json(view, rec), indent=2))
        return
    print_table(status_table(view, wide=wide), wide=wide)
    if (line := cost_line(view)) is not None:
        typer.echo(line)
    for line in [] if rec is None else recommendation_lines(rec):
        typer.echo(line)


@app.command("recover")
def recover(config: Annotated[Path, typer.Argument(help="Study config (YAML).")],
            workdir: WorkdirOpt = None, tracking_uri: TrackingOpt = None) -> None:
    """Rebuild a study's trials in its tracking store from its folder (study.json and the
    trial folders), after the store lost them; completed trials are then never re-run."""
    from studies.config import load_study_config
    from studies.recover import recover_study

    _, summary = recover_study(_with_store(load_study_config(config, workdir=workdir),
                                           tracking_uri))
    typer.echo(summary)


@app.command("predict")
def predict(study: StudyArg, top: Annotated[int, typer.Option(help="Mixtures to list.")] = 5,
            as_json: Annotated[bool, typer.Option("--json")] = False, wide: WideOpt = False,
            tracking_uri: TrackingOpt = None, workdir: WorkdirOpt = None) -> None:
    """The surrogate's top mixtures with predicted mean and std, and its LOO diagnostics
    (this fit's, and the last ones the study logged, each with its number of trials).
    The answer is kept in the study's folder, keyed by the trials (studies/cli/predict_cache.py)."""
    from studies.cli import predict_cache
    from studies.cli.loo_figures import LOGGED, last_logged, logged_loo, loo_lines

    if top < 1:
        raise MixoptError(f"--top must be >= 1, got {top}")
    # Without MLflow where the store allows it, as status (a cached answer: ~1 s).
    read = _read(study, tracking_uri, workdir, parent_history=tuple(LOGGED))
    if read is not None:
        view, config = read.view, read.config
        logged = last_logged(read.parent_history)
    else:
        opened = _open(study, tracking_uri, workdir)
        view, config = opened.view, opened.config
        logged = logged_loo(opened.ledger.client, view.parent_run_id)
    study_dir = None if config is None else config.study_dir
    key = predict_cache.cache_key(view, top)
    answer = None if study_dir is None else predict_cache.load(study_dir, key)
    if answer is None:
        try:
            answer = predict_cache.compute(view, top)
        except FitError as err:
            raise MixoptError(str(err)) from None
        if study_dir is not None:
            predict_cache.save(study_dir, key, answer)
    if as_json:
        typer.echo(json.dumps({
            "study": view.name, "surrogate": view.surrogate, "objective": view.objective,
            "trials": answer["trials"], "proxy_trials": answer["proxy_trials"],
            "top": answer["top"], "loo": answer["loo"], "logged_loo": logged,
        }, indent=2))
        return
    print_table(predict_table(view, answer["top"], answer["trials"]), wide=wide)
    typer.echo("std: sd of a new training run of that mixture (model uncertainty and run noise)")
    if answer["proxy_trials"]:
        typer.echo(f"fitted with {answer['proxy_trials']} proxy trial(s) too (multi-fidelity "
                   f"GP, kernel {view.proxy_kernel}); predictions and leave-one-out are for "
                   "target runs")
    for line in loo_lines(answer["loo_summary"], answer["trials"], logged):
        typer.echo(line)


@app.command("report")
def report(study: StudyArg,
           out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
           tracking_uri: TrackingOpt = None, workdir: WorkdirOpt = None) -> None:
    """One self-contained HTML page (also logged to the study's parent run). The page is kept
    in the study's folder, keyed by the study and the code (studies/cli/report_cache.py)."""
    from studies.cli import report_cache
    from studies.local_artifacts import is_local_artifact_uri, log_local_artifact
    from studies.page_file import write_page

    read = _read(study, tracking_uri, workdir)
    opened: OpenedStudy | None = None
    if read is not None and is_local_artifact_uri(read.parent_artifact_uri):
        view, config, artifacts = read.view, read.config, read.parent_artifact_uri
    else:
        opened = _open(study, tracking_uri, workdir)
        view, config, artifacts = opened.view, opened.config, None
    study_dir = None if config is None else config.study_dir
    key = None if study_dir is None else report_cache.cache_key(view)
    page = None if key is None else report_cache.load(study_dir, key)
    if page is None:
        from studies.report import build_report_html

        with torch_threads(1):
            page = build_report_html(view)
        if key is not None:
            report_cache.save(study_dir, key, page)
    path = write_page(page, out)
    if artifacts is not None:
        # Where `MlflowClient.log_artifact` writes for a local artifact folder, without
        # importing MLflow (studies/local_artifacts.py; ~1 CPU-s).
        log_local_artifact(artifacts, path)
    elif opened is not None and view.parent_run_id is not None:
        opened.ledger.log_study_artifact(view.parent_run_id, str(path))
    typer.echo(f"wrote {path}")


@app.command("compare")
def compare(
    studies: Annotated[list[str], typer.Argument(help="Studies (configs or names).")],
    fmt: Annotated[str, typer.Option("--format", help="table, markdown, latex or csv.")] =
    "table",
    trials: Annotated[bool, typer.Option("--trials", help="Also the per-trial tables.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object (not --format).")] =
    False,
    wide: WideOpt = False,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Studies side by side: best objective, trials used, recommendations."""
    from studies.cli.tables import from_compare
    from studies.compare import (
        compare_json,
        compare_studies,
        compare_table,
        trial_results,
        trials_caption,
        trials_table,
    )

    if fmt not in ("table", "markdown", "latex", "csv"):
        raise MixoptError(f"--format {fmt!r}: choose table, markdown, latex or csv")
    if as_json and fmt != "table":
        raise MixoptError(f"--json and --format {fmt}: give one of them")
    views = [_open(s, tracking_uri, None).view for s in studies]
    with torch_threads(1):
        if as_json:
            typer.echo(json.dumps(compare_json(views, trials=trials), indent=2))
        elif fmt == "table":  # fitted to the terminal, never cut (studies/cli/tables.py)
            print_table(from_compare(compare_table(views, precise=False)), wide=wide)
            for view in views if trials else []:
                print_table(from_compare(trial_results(view, precise=False),
                                         trials_caption(view)), wide=wide)
        else:
            typer.echo(compare_studies(views, fmt))  # type: ignore[arg-type]
            for view in views if trials else []:
                typer.echo(trials_table(view, fmt))  # type: ignore[arg-type]


@app.command("publish")
def publish(
    study: StudyArg,
    trial: Annotated[int, typer.Option(help="Trial index whose checkpoint to publish.")],
    repo: Annotated[str, typer.Option(help="Hub repository ORG/NAME.")],
    checkpoint: Annotated[Path | None, typer.Option(
        help="Checkpoint folder; default: the trial's final checkpoint.")] = None,
    public: Annotated[bool, typer.Option("--public", help="Make the repository public.")] =
    False,
    tracking_uri: TrackingOpt = None, workdir: WorkdirOpt = None,
) -> None:
    """Push a trial's checkpoint to the Hugging Face hub with a model card."""
    from studies.publish import publish_trial

    opened = _open(study, tracking_uri, workdir)
    if checkpoint is None:
        checkpoint = _trial_checkpoint(opened, trial)
    url = publish_trial(opened.view, trial, repo, checkpoint=checkpoint, private=not public)
    typer.echo(f"published trial {trial} to {url}")


def _trial_checkpoint(opened: OpenedStudy, index: int) -> Path:
    records = [r for r in latest_attempts(opened.view.trials) if r.index == index]
    if not records or opened.config is None:
        raise MixoptError(f"trial {index}: give --checkpoint (its folder is not known)")
    r = records[0]
    result = (opened.config.study_dir / "trials" / f"{r.index:03d}-a{r.attempt}" / "train"
              / "train_result.json")
    try:
        final = json.loads(result.read_text(encoding="utf-8")).get("final_checkpoint")
    except (OSError, ValueError):
        final = None
    if not final:
        raise MixoptError(f"trial {index}: no final checkpoint in {result}; give --checkpoint")
    return Path(final)


def demo(
    out: Annotated[Path, typer.Option(help="Folder of the demo's model, study and store.")] =
    Path("runs/demo"),
    max_trials: Annotated[int | None, typer.Option(help="Trials (default: the config's).")] =
    None,
    max_steps: Annotated[int | None, typer.Option(help="GRPO steps per trial.")] = None,
    limit: Annotated[int | None, typer.Option(help="Test records per benchmark.")] = None,
    parallelism: Annotated[int | None, typer.Option(help="Trials at once.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the base model.")] = 0,
    base_steps: Annotated[int | None, typer.Option(
        min=1, help="Supervised warm-start steps of the base model (default: the recipe's, "
        "4500; more see better and take longer: docs/PERFORMANCE.md section 7).")] = None,
    build_base: Annotated[bool, typer.Option(
        "--build-base", help="Train the base model here (~8 min on 2 cores) even where the "
        "code ships a build of its recipe (the default recipe, seed 0).")] = False,
    base_threads: Annotated[int | None, typer.Option(
        min=1, help="Torch threads of a base-model build (default: the cores the load "
        "average leaves idle, at least 1).")] = None,
) -> None:
    """The embedded demo: build (or reuse) a warm-started tiny model, then run a real study of
    GRPO trials on synthetic domains on this CPU (studies/examples/demo_synthetic.yaml)."""
    import time

    from studies.demo import DemoSettings, prepare_demo

    console = Console(stderr=True)
    started = time.perf_counter()
    from mixopt.threads import idle_cores
    from rlvr.models.warm_start import WarmStartRecipe

    # More threads than idle cores oversubscribe them: beside one busy process on 2 cores a
    # step took 0.48 s with 2 threads, 0.26 s with 1 (docs/PERFORMANCE.md section 7).
    threads = base_threads or idle_cores()
    console.print("base model: reusing, copying the shipped build or building the "
                  f"warm-started tiny model (a build uses {threads} torch thread(s)) ...")

    recipe = WarmStartRecipe()
    if base_steps is not None:  # a short warm-up for a short run (warm-up <= steps)
        recipe = WarmStartRecipe(steps=base_steps,
                                 warmup_steps=min(recipe.warmup_steps, base_steps))
    settings = DemoSettings(max_trials=max_trials, max_steps=max_steps, limit=limit,
                            parallelism=parallelism, seed=seed, warm_start=recipe,
                            build_base=build_base)
    with Progress(TextColumn("[bold]warm start"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as progress:
        bar: list = []  # created by the first step: a cached model shows no bar

        def on_base_step(done: int, losses: list[float]) -> None:
            if not bar:
                bar.append(progress.add_task("", total=recipe.steps))
            if done % 10 == 0 or done == recipe.steps:
                recent = losses[-50:]
                progress.update(bar[0], completed=done,
                                description=f"loss {sum(recent) / len(recent):.3f}")

        with torch_threads(threads):
            config = prepare_demo(out, settings, on_base_step=on_base_step)
    origin = "built" if bar else "cached or shipped build"
    console.print(f"base model ready ({origin}, {time.perf_counter() - started:.0f} s); "
                  f"study {config}")
    run_with_progress(config)
    console.print(f"demo wall time: {time.perf_counter() - started:.0f} s")
