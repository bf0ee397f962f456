"""`mixopt bench`: compare strategies on known response surfaces (simulated studies)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mixopt.bench import BUILTIN_FAMILIES, DEFAULT_NOISE_SD, STRATEGY_NAMES
from mixopt.errors import MixoptError

if TYPE_CHECKING:
    from mixopt.bench import BenchResult, RunRecord


def table_rows(trials: int) -> list[int]:
    """Trial counts shown in the table: 1, 2, 4, 8, then every 4th, and the last."""
    if trials <= 12:
        return list(range(1, trials + 1))
    rows = [k for k in (1, 2, 4, 6, 8) if k <= trials]
    rows += list(range(12, trials + 1, 4))
    return sorted({*rows, trials})


def _parse_domains(text: str | None) -> tuple[int, tuple[str, ...] | None]:
    """``--domains 5`` (a number of domains) or ``--domains a,b,c`` (their names)."""
    if text is None:
        return 5, None
    if text.strip().isdigit():
        return int(text), None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise MixoptError(f"--domains: expected a number or comma-separated names, got {text!r}")
    return len(names), names


def _table(result: BenchResult) -> Table:
    table = Table(
        title="regret / oracle range, %: median [IQR]",
        caption=f"oracles {', '.join(result.oracles)}; {result.seeds} seeds each; noise sd "
                f"{result.noise_sd:g}; batch size {result.batch_size}",
        title_justify="left", caption_justify="left",
    )
    table.add_column("trials", justify="right")
    summaries = {s: result.summary(s) for s in result.strategies}
    for strategy in result.strategies:
        table.add_column(strategy, justify="right")
    for k in table_rows(result.trials):
        cells = []
        for strategy in result.strategies:
            s = summaries[strategy]
            cells.append(
                f"{100 * s['median_normalized_regret'][k - 1]:.1f} "
                f"[{100 * s['q25_normalized_regret'][k - 1]:.1f}, "
                f"{100 * s['q75_normalized_regret'][k - 1]:.1f}]"
            )
        table.add_row(str(k), *cells)
    return table


def bench(
    oracle: Annotated[str, typer.Option(
        help=f"Oracle(s), comma-separated: {', '.join(BUILTIN_FAMILIES)}, builtin (all of "
             "them, pooled), csv:PATH[#COLUMN], py:MODULE:FUNCTION; or one table of real "
             "runs, table:PATH#COLUMN (pool-based: the rows are the candidates).")] = "builtin",
    strategies: Annotated[str, typer.Option(
        help=f"Strategies, comma-separated: {', '.join(STRATEGY_NAMES)}; options as "
             "NAME:key=value, e.g. gp-bo:kernel=quadratic+matern:init=6.")
    ] = "random,reference,gp-bo",
    trials: Annotated[int, typer.Option(help="Evaluations (training runs) per study.")] = 21,
    seeds: Annotated[int, typer.Option(help="Oracle instances (and study seeds) per oracle.")
                     ] = 10,
    noise_sd: Annotated[float | None, typer.Option(
        help="Sd of the Gaussian observation noise (default 0.005; 0 for table: oracles).")
    ] = None,
    batch_size: Annotated[int, typer.Option(
        help="Parallel trials: each batch is chosen before any of its results is seen.")] = 4,
    domains: Annotated[str | None, typer.Option(
        help="Built-in oracles: a number of domains (default 5) or their names a,b,c; "
             "py: oracles: the domain names.")] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes (one torch thread each).")] = 1,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print exactly one JSON object on stdout (results, per-oracle, runs).")
    ] = False,
    plot: Annotated[Path | None, typer.Option(
        help="Write a PNG of median normalized regret vs trials.")] = None,
    fidelity_column: Annotated[str | None, typer.Option(
        help="table: the column naming each row's fidelity (e.g. model).")] = None,
    target_fidelity: Annotated[str | None, typer.Option(
        help="table: the fidelity column's value of target rows (e.g. 60m).")] = None,
    cost_column: Annotated[str | None, typer.Option(
        help="table: each row's cost (divided by the median cost of target rows).")] = None,
    budget: Annotated[int | None, typer.Option(
        help="table: total cost in target-run equivalents (default: --trials).")] = None,
) -> None:
    """Run simulated studies of each strategy on each oracle and tabulate normalized regret."""
    from mixopt.bench import run_benchmark

    if oracle.strip().startswith("table:"):
        _bench_table(oracle.strip(), strategies, budget or trials, seeds, noise_sd or 0.0, jobs,
                     fidelity_column, target_fidelity, cost_column, as_json)
        return
    table_only = {"--fidelity-column": fidelity_column, "--target-fidelity": target_fidelity,
                  "--cost-column": cost_column, "--budget": budget}
    given = [k for k, v in table_only.items() if v is not None]
    if given:
        raise MixoptError(f"{', '.join(given)}: only for a table:PATH#COLUMN oracle")
    dim, domain_names = _parse_domains(domains)
    oracle_specs = [o.strip() for o in oracle.split(",") if o.strip()]
    strategy_specs = [s.strip() for s in strategies.split(",") if s.strip()]
    err = Console(stderr=True)
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True,
    ) as bar:
        task = bar.add_task("simulated studies", total=None)

        def advance(record: RunRecord, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total,
                       description=f"{record.strategy} on {record.oracle} (seed {record.seed})")

        result = run_benchmark(
            oracle_specs, strategy_specs, trials, seeds,
            noise_sd=DEFAULT_NOISE_SD if noise_sd is None else noise_sd,
            batch_size=batch_size, dim=dim, domains=domain_names, jobs=jobs, progress=advance,
        )
    if plot is not None:
        from mixopt.bench.plot import save_regret_plot

        save_regret_plot(result, plot)
    if as_json:
        typer.echo(result.to_json())
        return
    out = Console()
    out.print(_table(result))
    failures = {s: result.summary(s)["fit_failures"] for s in result.strategies}
    out.print(f"wall time {result.wall_s:.1f} s; surrogate fit failures (fell back to best "
              f"observed): {failures}")
    if plot is not None:
        out.print(f"plot written to {plot}")


def _bench_table(spec: str, strategies: str, budget: int, seeds: int, noise_sd: float,
                 jobs: int, fidelity_column: str | None, target_fidelity: str | None,
                 cost_column: str | None, as_json: bool) -> None:
    """`mixopt bench --oracle table:PATH#COLUMN`: pool-based studies on a table of runs."""
    from mixopt.bench.tables import TableSettings, run_table_benchmark, to_json

    if "," in spec:
        raise MixoptError("a table:PATH#COLUMN oracle is benchmarked alone (no other oracles)")
    # The continuous benchmark's default strategies include `reference`; tables take these.
    names = [s.strip() for s in strategies.split(",") if s.strip()]
    if names == ["random", "reference", "gp-bo"]:
        names = ["random", "gp-bo"]
    result = run_table_benchmark(
        spec, names, budget, seeds, noise_sd=noise_sd,
        jobs=jobs, table=TableSettings(fidelity_column, target_fidelity, cost_column))
    if as_json:
        typer.echo(to_json(result))
        return
    table = Table(title="regret / pool range, %: median [IQR], by cost in target runs",
                  caption=f"{spec}; {seeds} seeds; noise sd {result['metadata']['noise_sd']:g}",
                  title_justify="left", caption_justify="left")
    table.add_column("cost", justify="right")
    for s in result["metadata"]["strategies"]:
        table.add_column(s, justify="right")

    def cell(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    for c in table_rows(budget):
        cells = []
        for s in result["metadata"]["strategies"]:
            r = result["results"][s]
            cells.append(f"{cell(r['median_regret_at_cost'][c - 1])} "
                         f"[{cell(r['q25_regret_at_cost'][c - 1])}, "
                         f"{cell(r['q75_regret_at_cost'][c - 1])}]")
        table.add_row(str(c), *cells)
    out = Console()
    out.print(table)
    out.print(f"wall time {result['metadata']['wall_s']:.1f} s")
