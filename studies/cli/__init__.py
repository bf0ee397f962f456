"""The `mixopt` command line: one sub-command group per job.

User mistakes (a `MixoptError`) end in one red line on stderr and exit code 2, never a
traceback; bugs still raise.
"""

from __future__ import annotations

import sys

import typer

from mixopt.errors import MixoptError
from studies.cli import bench, domains, study, surrogate, train, ui
from studies.cli import eval as eval_cli
from studies.numerical_warnings import log_numerical_warnings

app = typer.Typer(
    name="mixopt",
    help="Find the best training-data mixture for RLVR fine-tuning with few training runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(surrogate.app, name="surrogate")
app.command("bench")(bench.bench)
app.command("train")(train.train)
app.command("eval")(eval_cli.eval_checkpoint)
app.add_typer(domains.app, name="domains")
app.add_typer(study.app, name="study")
app.command("ui")(ui.ui)
app.command("demo")(study.demo)


def main(argv: list[str] | None = None) -> None:
    """Console entry point (`mixopt`)."""
    log_numerical_warnings()  # GP jitter notes to the log, other warnings shown
    try:
        app(args=argv, prog_name="mixopt", standalone_mode=True)
    except MixoptError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        sys.exit(2)
