"""`mixopt surrogate ...`: fit a surrogate to observed results and say what it predicts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from mixopt.errors import FitError
from mixopt.observations import read_csv
from mixopt.threads import torch_threads

if TYPE_CHECKING:
    from mixopt.surrogates import Surrogate

app = typer.Typer(help="Fit surrogate models to observed mixtures and inspect them.",
                  no_args_is_help=True)

MODELS = ("gp", "scheffe", "quadsurface", "linear")


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@app.command("fit")
def fit(
    observations: Annotated[Path, typer.Argument(help="CSV: one column w.<domain> per domain, "
                                                     "one column per metric.")],
    objective: Annotated[str, typer.Option(help="Metric column to model.")],
    model: Annotated[str, typer.Option(help=f"Surrogate: {', '.join(MODELS)}.")] = "gp",
    minimize: Annotated[bool, typer.Option("--minimize",
                                           help="Lower is better for the objective.")] = False,
    normalize: Annotated[bool, typer.Option("--normalize",
                                            help="Rescale rows whose weights do not sum to 1."
                                            )] = False,
    seed: Annotated[int, typer.Option(help="Seed for fitting and for the recommendation.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit MODEL to OBSERVATIONS; print the recommended mixture and leave-one-out diagnostics."""
    from mixopt import surrogates
    from mixopt.surrogates.diagnostics import loo  # scipy.stats: a second to import

    obs = read_csv(observations, [objective], normalize=normalize)
    sign = -1.0 if minimize else 1.0
    y = sign * obs.objective(objective)

    def build() -> Surrogate:
        return surrogates.create(model, obs.space, seed=seed)

    diagnostics = None
    loo_note = ""
    with torch_threads(1):
        fitted = build()
        fitted.fit(obs.X, y)
        rec = fitted.recommend()
        try:
            diagnostics = loo(build, obs.X, y)
        except FitError as err:
            loo_note = f"leave-one-out skipped: {err}"

    report: dict[str, Any] = {
        "model": model,
        "objective": objective,
        "direction": "minimize" if minimize else "maximize",
        "recommended": {d: float(w) for d, w in rec.mixture.items()},
        "predicted_mean": sign * rec.mean,
        "predicted_std": rec.std,
        "loo": None,
        "n_observations": len(obs),
        "warnings": [loo_note] if loo_note else [],
    }
    if diagnostics is not None:
        report["loo"] = {
            "rmse": _finite_or_none(diagnostics.rmse),
            "spearman": _finite_or_none(diagnostics.spearman),
            "coverage90": _finite_or_none(diagnostics.coverage90),
            "mean_baseline_rmse": _finite_or_none(diagnostics.mean_baseline_rmse),
            "worse_than_mean": bool(diagnostics.worse_than_mean),
        }
        if diagnostics.worse_than_mean:
            report["warnings"].append(diagnostics.summary())
    if as_json:
        typer.echo(json.dumps(report))
        return
    _print_report(report, best_observed=float(np.max(y) * sign))


def _print_report(report: dict[str, Any], *, best_observed: float) -> None:
    console = Console()
    console.print(f"[bold]Recommended mixture[/bold] ({report['model']}, "
                  f"{report['n_observations']} observations, {report['direction']} "
                  f"{report['objective']})")
    table = Table()
    table.add_column("domain")
    table.add_column("weight", justify="right")
    for domain, weight in report["recommended"].items():
        table.add_row(domain, f"{weight:.4f}")
    console.print(table)
    console.print(f"predicted {report['objective']}: {report['predicted_mean']:.4f} "
                  f"± {report['predicted_std']:.4f} (best observed {best_observed:.4f})")
    diag = report["loo"]
    if diag:
        def fmt(v: float | None, spec: str) -> str:
            return "n/a" if v is None else format(v, spec)
        console.print(
            f"leave-one-out: RMSE {fmt(diag['rmse'], '.4f')} (predicting the mean: "
            f"{fmt(diag['mean_baseline_rmse'], '.4f')}), Spearman {fmt(diag['spearman'], '.3f')}, "
            f"90% interval coverage {fmt(diag['coverage90'], '.0%')}"
        )
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
