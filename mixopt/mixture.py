"""Mixtures (weights keyed by domain name) and the bounded simplex they live on."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mixopt.errors import MixtureError

SUM_TOLERANCE = 1e-6


class Mixture(Mapping[str, float]):
    """Weights of a data mixture, keyed by domain name; immutable.

    Weights are finite, non-negative and sum to 1 within `atol` (1e-6). With
    ``normalize=True`` any finite non-negative weights with a positive sum are rescaled.
    Iteration follows the order the domains were given in; equality ignores order.

    Raises:
        MixtureError: empty, non-finite, negative or not summing to 1.
    """

    __slots__ = ("_weights",)

    def __init__(
        self, weights: Mapping[str, float], *, normalize: bool = False, atol: float = SUM_TOLERANCE
    ) -> None:
        if not weights:
            raise MixtureError("a mixture needs at least one domain")
        clean: dict[str, float] = {}
        for name, value in weights.items():
            if not isinstance(name, str) or not name:
                raise MixtureError(f"domain names must be non-empty strings, got {name!r}")
            try:
                w = float(value)
            except (TypeError, ValueError):
                raise MixtureError(f"weight of {name!r} is not a number: {value!r}") from None
            if not math.isfinite(w):
                raise MixtureError(f"weight of {name!r} is not finite: {w}")
            if w < 0:
                if w > -atol:  # rounding noise from a solver
                    w = 0.0
                else:
                    raise MixtureError(f"weight of {name!r} is negative: {w}")
            clean[name] = w
        total = sum(clean.values())
        if normalize:
            if total <= 0:
                raise MixtureError("cannot normalize a mixture whose weights sum to 0")
            clean = {k: v / total for k, v in clean.items()}
        elif abs(total - 1.0) > atol:
            raise MixtureError(
                f"weights sum to {total:.9g}, not 1 (pass normalize=True to rescale)"
            )
        self._weights = clean

    @classmethod
    def from_vector(
        cls,
        vector: Sequence[float] | np.ndarray,
        domains: Sequence[str],
        *,
        normalize: bool = False,
    ) -> Mixture:
        """Build from a `d`-vector whose entries follow `domains`."""
        values = np.asarray(vector, dtype=float).reshape(-1)
        if len(values) != len(domains):
            raise MixtureError(f"vector has {len(values)} entries for {len(domains)} domains")
        return cls(dict(zip(domains, values.tolist(), strict=True)), normalize=normalize)

    @classmethod
    def uniform(cls, domains: Sequence[str]) -> Mixture:
        return cls({d: 1.0 / len(domains) for d in domains})

    @classmethod
    def from_json(cls, text: str) -> Mixture:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise MixtureError("a mixture in JSON is an object {domain: weight}")
        return cls(data)

    def to_dict(self) -> dict[str, float]:
        return dict(self._weights)

    def to_json(self) -> str:
        return json.dumps(self._weights)

    def to_vector(self, domains: Sequence[str]) -> np.ndarray:
        """`d`-vector in the order of `domains`; domains absent from this mixture weigh 0.

        Raises:
            MixtureError: this mixture has weight on a domain not in `domains`.
        """
        unknown = [d for d, w in self._weights.items() if d not in domains and w > 0]
        if unknown:
            raise MixtureError(f"mixture puts weight on unknown domain(s) {unknown}")
        return np.array([self._weights.get(d, 0.0) for d in domains], dtype=float)

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(self._weights)

    def __getitem__(self, name: str) -> float:
        return self._weights[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._weights)

    def __len__(self) -> int:
        return len(self._weights)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mixture):
            return self._weights == other._weights
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._weights.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v:.4g}" for k, v in self._weights.items())
        return f"Mixture({inner})"


@dataclass(frozen=True)
class DomainBounds:
    """Bounds on one domain's weight: ``lower <= w <= upper``; ``upper == 0`` fixes it at zero."""

    lower: float = 0.0
    upper: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.lower <= self.upper <= 1.0):
            raise MixtureError(
                f"bounds must satisfy 0 <= lower <= upper <= 1, got [{self.lower}, {self.upper}]"
            )

    @classmethod
    def fixed_zero(cls) -> DomainBounds:
        return cls(0.0, 0.0)


@dataclass(frozen=True)
class MixtureSpace:
    """The search space: an ordered list of domains and the bounded simplex over them.

    The order of `domains` is the order of every vector and matrix form (`X: n x d`).

    Raises:
        MixtureError: duplicate or empty names, bounds for unknown domains, or bounds that
            no mixture can satisfy (sum of lower bounds > 1 or sum of upper bounds < 1).
    """

    domains: tuple[str, ...]
    bounds: Mapping[str, DomainBounds] = field(default_factory=dict)

    def __post_init__(self) -> None:
        domains = tuple(self.domains)
        object.__setattr__(self, "domains", domains)
        if not domains:
            raise MixtureError("a mixture space needs at least one domain")
        if any(not isinstance(d, str) or not d for d in domains):
            raise MixtureError(f"domain names must be non-empty strings, got {list(domains)}")
        dupes = sorted({d for d in domains if domains.count(d) > 1})
        if dupes:
            raise MixtureError(f"duplicate domain names: {dupes}")
        unknown = sorted(set(self.bounds) - set(domains))
        if unknown:
            raise MixtureError(f"bounds given for unknown domain(s) {unknown}")
        object.__setattr__(self, "bounds", dict(self.bounds))
        if self.lower.sum() > 1 + SUM_TOLERANCE:
            raise MixtureError(f"lower bounds sum to {self.lower.sum():.6g} > 1: no mixture fits")
        if self.upper.sum() < 1 - SUM_TOLERANCE:
            raise MixtureError(f"upper bounds sum to {self.upper.sum():.6g} < 1: no mixture fits")

    @property
    def dim(self) -> int:
        return len(self.domains)

    def bounds_of(self, domain: str) -> DomainBounds:
        return self.bounds.get(domain, DomainBounds())

    @property
    def lower(self) -> np.ndarray:
        """`d`-vector of lower bounds."""
        return np.array([self.bounds_of(d).lower for d in self.domains], dtype=float)

    @property
    def upper(self) -> np.ndarray:
        """`d`-vector of upper bounds."""
        return np.array([self.bounds_of(d).upper for d in self.domains], dtype=float)

    @property
    def is_unbounded(self) -> bool:
        return not np.any(self.lower > 0) and not np.any(self.upper < 1)

    def to_matrix(self, mixtures: Sequence[Mapping[str, float]]) -> np.ndarray:
        """`n x d` matrix of weights in this space's domain order."""
        rows = [
            (m if isinstance(m, Mixture) else Mixture(m)).to_vector(self.domains)
            for m in mixtures
        ]
        return np.vstack(rows) if rows else np.empty((0, self.dim))

    def to_mixtures(self, X: np.ndarray, *, normalize: bool = False) -> list[Mixture]:
        """Mixtures from an `n x d` matrix (tiny solver residue is cleaned with ``normalize``)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        return [Mixture.from_vector(row, self.domains, normalize=normalize) for row in X]

    def contains(self, mixture: Mapping[str, float], *, atol: float = SUM_TOLERANCE) -> bool:
        """Whether `mixture` is a valid mixture over these domains that respects the bounds."""
        try:
            x = (mixture if isinstance(mixture, Mixture) else Mixture(mixture)).to_vector(
                self.domains
            )
        except MixtureError:
            return False
        return bool(np.all(x >= self.lower - atol) and np.all(x <= self.upper + atol))
