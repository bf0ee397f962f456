"""Domains by name: the built-ins (the reference's five, the seven synthetic ``synth_*``), and
the ones users add in YAML files.

A domain file is a YAML list of domain specs, or a mapping name -> spec (the name then comes
from the key)::

    mycharts:
      source: {kind: jsonl, path: charts.jsonl, image_dir: charts/}
      answer_type: option_letter
      rewards: {format: 1.0, accuracy_mc: 2.0}

Relative paths in a file are read from the file's folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from rlvr.config_files import ConfigFileError, key_path, read_yaml, validation_error_lines
from rlvr.domains.reference import reference_domains
from rlvr.domains.spec import DomainSpec
from rlvr.domains.synthetic.domains import synthetic_domains


class UnknownDomainError(KeyError):
    """A domain name that the registry does not hold; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would print the message inside quotes
        return str(self.args[0])


class DomainFileError(ConfigFileError):
    """A domain file with errors; one ``FILE: key.path: message`` line per error."""


class DomainRegistry:
    """Domain specs by name. Refuses duplicate names.

    Args:
        specs: initial domains.

    Raises:
        ValueError: a name registered twice, or something that is not a `DomainSpec`.
    """

    def __init__(self, specs: Iterable[DomainSpec] = ()) -> None:
        self._specs: dict[str, DomainSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: DomainSpec) -> None:
        """Add ``spec``. Raises ValueError if its name is taken or it is not a `DomainSpec`."""
        if not isinstance(spec, DomainSpec):
            raise ValueError(f"expected a DomainSpec, got {type(spec).__name__}")
        if spec.name in self._specs:
            raise ValueError(f"a domain named {spec.name!r} is already registered")
        self._specs[spec.name] = spec

    def get(self, name: str) -> DomainSpec:
        """The domain called ``name``. Raises `UnknownDomainError` (a KeyError) listing names."""
        try:
            return self._specs[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name
            raise UnknownDomainError(
                f"unknown domain {name!r}; known domains: {', '.join(self.names())}"
            ) from None

    def names(self) -> tuple[str, ...]:
        """The registered names, sorted."""
        return tuple(sorted(self._specs))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._specs

    def __iter__(self) -> Iterator[DomainSpec]:
        return iter(self._specs[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._specs)

    def copy(self) -> DomainRegistry:
        """A new registry with the same domains, to extend without touching this one."""
        return DomainRegistry(self._specs.values())

    def add_files(self, paths: Iterable[Path | str]) -> None:
        """Register the domains of every file in ``paths`` (see `load_domain_file`).

        All files are read before anything is registered, and all errors are reported at once:
        nothing is registered if any file has an error.

        Raises:
            DomainFileError: errors in the files, or names already registered (one line each).
        """
        lines: list[str] = []
        pending: dict[str, tuple[Path, DomainSpec]] = {}
        for path in map(Path, paths):
            try:
                specs = load_domain_file(path)
            except ConfigFileError as error:
                lines.extend(error.lines)
                continue
            for spec in specs:
                if spec.name in self._specs:
                    lines.append(
                        f"{path}: {spec.name}: a domain named {spec.name!r} is already "
                        "registered (built-in or from another file)"
                    )
                elif spec.name in pending:
                    lines.append(
                        f"{path}: {spec.name}: a domain named {spec.name!r} is also "
                        f"defined in {pending[spec.name][0]}"
                    )
                else:
                    pending[spec.name] = (path, spec)
        if lines:
            raise DomainFileError(lines)
        for _, spec in pending.values():
            self.register(spec)


def default_registry(domain_files: Iterable[Path | str] = ()) -> DomainRegistry:
    """A new registry holding the five reference domains, the seven synthetic ones
    (`rlvr.domains.synthetic.domains`) and those of ``domain_files``.

    Raises:
        DomainFileError: errors in the files (all at once).
    """
    registry = DomainRegistry((*reference_domains(), *synthetic_domains()))
    registry.add_files(domain_files)
    return registry


def load_domain_file(path: Path | str) -> tuple[DomainSpec, ...]:
    """The domains of a YAML file: a list of specs, or a mapping name -> spec.

    Relative paths of the sources are made absolute against the file's folder.

    Raises:
        DomainFileError: the file cannot be read or parsed, or has errors; every error is
            reported at once, one ``FILE: key.path: message`` line each.
    """
    path = Path(path)
    try:
        content = read_yaml(path)
    except ConfigFileError as error:
        raise DomainFileError(error.lines) from None
    if isinstance(content, dict):
        entries = [((name,), _named(name, value), name) for name, value in content.items()]
    elif isinstance(content, list):
        entries = [((index,), value, None) for index, value in enumerate(content)]
    else:
        raise DomainFileError(
            [
                f"{path}: {key_path(())}: expected a list of domains or a mapping name -> domain, "
                f"got {type(content).__name__}"
            ]
        )

    lines: list[str] = []
    specs: dict[str, DomainSpec] = {}
    base = path.absolute().parent
    for prefix, value, key in entries:
        if not isinstance(value, dict):
            lines.append(
                f"{path}: {key_path(prefix)}: expected a mapping (a domain spec), "
                f"got {type(value).__name__}"
            )
            continue
        if key is not None and value["name"] != key:
            lines.append(
                f"{path}: {key_path((*prefix, 'name'))}: {value['name']!r} differs from "
                f"its key {key!r} (leave `name` out in this form)"
            )
            continue
        try:
            spec = DomainSpec.model_validate(value)
        except ValidationError as error:
            lines.extend(validation_error_lines(path, error, value, prefix))
            continue
        if spec.name in specs:
            lines.append(f"{path}: {key_path(prefix)}: domain {spec.name!r} is defined twice")
            continue
        specs[spec.name] = spec.with_paths_from(base)
    if lines:
        raise DomainFileError(lines)
    return tuple(specs.values())


def _named(name: object, value: object) -> object:
    # In the mapping form the key is the name; a `name` inside must agree.
    if isinstance(value, dict) and "name" not in value:
        return {"name": name, **value}
    return value
