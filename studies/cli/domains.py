"""`mixopt domains list` and `mixopt domains show NAME`: the training domains that jobs can name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from studies.cli.rlvr_errors import as_mixopt_errors

if TYPE_CHECKING:  # rlvr.domains (PIL, the loaders): imported by the commands, not at start
    from rlvr.domains import DomainRegistry, Source

app = typer.Typer(help="List and show the training domains (built-in and user-defined).",
                  no_args_is_help=True)

DomainFiles = Annotated[
    list[Path] | None,
    typer.Option("--domain-file", help="YAML file of user domains (repeatable)."),
]


def _registry(domain_files: list[Path] | None) -> DomainRegistry:
    from rlvr.domains import default_registry

    with as_mixopt_errors():
        return default_registry(domain_files or ())


def describe_source(source: Source) -> str:
    """A short text for a source: ``hub:ID[split]``, ``disk:PATH``, ``jsonl:PATH``,
    ``synthetic:TASK n=N seed=S``."""
    from rlvr.domains import DiskSource, HubSource, SyntheticSource

    if isinstance(source, SyntheticSource):
        return f"synthetic:{source.task} n={source.n} seed={source.seed}"
    if isinstance(source, HubSource):
        return f"hub:{source.id}[{source.split}]"
    if isinstance(source, DiskSource):
        return f"disk:{source.path}" + (f"[{source.split}]" if source.split else "")
    return f"jsonl:{source.path}"


@app.command("list")
def list_domains(domain_file: DomainFiles = None) -> None:
    """Show every domain: name, training source, answer type and rewards with their weights."""
    table = Table()
    table.add_column("name", no_wrap=True)
    table.add_column("source", overflow="fold")
    table.add_column("answer type", no_wrap=True)
    table.add_column("rewards (weight)")
    table.add_column("gated", no_wrap=True)
    for spec in _registry(domain_file):
        rewards = ", ".join(f"{name} {weight:g}" for name, weight in spec.rewards.items())
        gated = "yes" if spec.gate_on_format else "no"
        # Escaped: rich would read the `[split]` of a hub source as a style tag and drop it.
        source = escape(describe_source(spec.source))
        table.add_row(spec.name, source, spec.answer_type, rewards, gated)
    Console().print(table)


@app.command("show")
def show_domain(
    name: Annotated[str, typer.Argument(help="Domain name.")],
    domain_file: DomainFiles = None,
) -> None:
    """Print the spec of domain NAME as YAML (the form a domain file takes)."""
    registry = _registry(domain_file)
    with as_mixopt_errors():
        spec = registry.get(name)
    typer.echo(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False,
                              allow_unicode=True), nl=False)
