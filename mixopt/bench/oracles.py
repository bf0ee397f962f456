"""Oracles: known response surfaces over mixtures that stand in for full training runs.

An `Oracle` answers ``value(X)`` (noise-free, `n x d -> n`) and ``observe(X, rng)`` (with
Gaussian noise), and knows its own extremes over the simplex, so a benchmark can score a
recommended mixture by its true regret.

Built-in families (``make_oracle(name, seed=...)``) are seeded random instances on a realistic
scale: the minimum over the simplex is drawn in [0.30, 0.45] and the range (optimum minus
minimum) in [0.05, 0.20], so the default noise sd 0.005 is a few percent of the range.

    quadratic    Scheffé quadratic: random linear terms and random synergistic/antagonistic
                 pairwise interactions (a quadratic surrogate's own model class).
    cubic        Scheffé special cubic: the quadratic plus three-way interactions.
    sharp        a gentle linear background plus a narrow bump (sd 0.10-0.15) at a random
                 interior point: the optimum is a needle that every strategy struggles to find.
    sparse       a concave quadratic whose unconstrained maximizer lies outside the simplex,
                 so the best mixture puts zero weight on one or two domains.
    diminishing  MoDoMoDo-like diminishing returns, ``sum a_i log(1 + k_i w_i)``, plus weak
                 pairwise interactions.

Other specs: ``csv:PATH[#COLUMN]`` (the posterior mean of a GP fitted to observed results) and
``py:MODULE:FUNCTION`` (any importable ``f({domain: weight}) -> float``).
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from mixopt import designs, simplex
from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import Surrogate

DEFAULT_NOISE_SD = 0.005
REFERENCE_DOMAINS = ("coco", "lisa", "geoqav", "sat", "scienceqa")
BUILTIN_FAMILIES = ("quadratic", "cubic", "sharp", "sparse", "diminishing")
SPEC_FORMS = ("csv:PATH[#COLUMN]", "py:MODULE:FUNCTION")

# Realistic scale of a built-in instance (scores of an RLVR-trained VLM on a benchmark mix).
_MINIMUM_RANGE = (0.30, 0.45)
_SPREAD_RANGE = (0.05, 0.20)

SurfaceFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Extremes:
    """Maximum and minimum of a surface over the simplex, with where they are (`d`-vectors)."""

    argmax: np.ndarray
    maximum: float
    argmin: np.ndarray
    minimum: float


def find_extremes(
    fn: SurfaceFn,
    space: MixtureSpace,
    *,
    hints: np.ndarray | None = None,
    n_candidates: int = 8192,
    n_polish: int = 8,
) -> Extremes:
    """Maximize and minimize `fn: m x d -> m` over the bounded simplex, numerically.

    Dense scrambled Sobol candidates plus the reference seed design and `hints` (`h x d`,
    e.g. a bump's centre), then SLSQP polish of the best few (`mixopt.simplex.maximize`).
    Deterministic: the candidates come from a fixed seed.
    """
    extra = designs.reference_seed(space)
    if hints is not None and len(hints):
        extra = np.vstack([extra, np.atleast_2d(hints)])
    x_max, v_max = simplex.maximize(
        fn, space, np.random.default_rng(0), n_candidates=n_candidates, n_polish=n_polish,
        extra_candidates=extra,
    )
    x_min, v_min = simplex.maximize(
        lambda X: -np.asarray(fn(X), dtype=float), space, np.random.default_rng(1),
        n_candidates=n_candidates, n_polish=n_polish, extra_candidates=extra,
    )
    return Extremes(argmax=x_max, maximum=v_max, argmin=x_min, minimum=-v_min)


@dataclass(frozen=True, eq=False)
class Oracle:
    """A known objective over mixtures (higher is better) with its extremes.

    Attributes:
        name: what it is, e.g. ``"sharp"`` or ``"csv:results.csv#out_score"``.
        space: the mixture space; columns of every `X` follow ``space.domains``.
        function: the noise-free surface, `m x d -> m`.
        extremes: its maximum and minimum over the space (see `find_extremes`).
    """

    name: str
    space: MixtureSpace
    function: SurfaceFn
    extremes: Extremes

    @classmethod
    def from_function(
        cls, name: str, space: MixtureSpace, function: SurfaceFn, *,
        hints: np.ndarray | None = None, n_polish: int = 8,
    ) -> Oracle:
        """Wrap `function` (`m x d -> m`), locating its extremes numerically."""
        extremes = find_extremes(function, space, hints=hints, n_polish=n_polish)
        return cls(name, space, function, extremes)

    @property
    def optimum(self) -> float:
        """The highest value over the simplex."""
        return self.extremes.maximum

    @property
    def argmax(self) -> np.ndarray:
        """`d`-vector: the best mixture."""
        return self.extremes.argmax.copy()

    @property
    def minimum(self) -> float:
        """The lowest value over the simplex."""
        return self.extremes.minimum

    @property
    def value_range(self) -> float:
        """``optimum - minimum``: the scale that normalized regrets are divided by."""
        return self.optimum - self.minimum

    def value(self, X: np.ndarray) -> np.ndarray:
        """Noise-free values at `X: n x d`, an `n`-vector."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        return np.asarray(self.function(X), dtype=float).reshape(-1)

    def observe(
        self, X: np.ndarray, rng: np.random.Generator, *, noise_sd: float = DEFAULT_NOISE_SD
    ) -> np.ndarray:
        """Noisy observations at `X: n x d`: value plus i.i.d. N(0, noise_sd^2), an `n`-vector."""
        v = self.value(X)
        return v + noise_sd * rng.standard_normal(len(v))


# --- built-in surfaces: small picklable callables, `m x d -> m` --------------------------------


@dataclass(frozen=True, eq=False)
class Polynomial:
    """``sum_t coef_t * prod_{i in term_t} w_i``: Scheffé polynomials of any order."""

    terms: tuple[tuple[int, ...], ...]
    coefs: np.ndarray

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return sum(c * np.prod(X[:, list(t)], axis=1) for t, c in zip(self.terms, self.coefs,
                                                                       strict=True))


@dataclass(frozen=True, eq=False)
class Bump:
    """``background(X) + height * exp(-|x - centre|^2 / (2 width^2))``."""

    background: SurfaceFn
    centre: np.ndarray
    width: float
    height: float

    def __call__(self, X: np.ndarray) -> np.ndarray:
        sq = np.sum((X - self.centre) ** 2, axis=1)
        return self.background(X) + self.height * np.exp(-sq / (2 * self.width**2))


@dataclass(frozen=True, eq=False)
class ConcaveBowl:
    """``-sum_i h_i (w_i - m_i)^2``: maximized (off the simplex) at `centre` m."""

    centre: np.ndarray
    curvature: np.ndarray

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return -np.sum(self.curvature * (X - self.centre) ** 2, axis=1)


@dataclass(frozen=True, eq=False)
class DiminishingReturns:
    """``sum_i a_i log(1 + k_i w_i) + interactions(X)``."""

    gains: np.ndarray
    rates: np.ndarray
    interactions: SurfaceFn

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.log1p(X * self.rates) @ self.gains + self.interactions(X)


@dataclass(frozen=True, eq=False)
class Rescaled:
    """``offset + scale * shape(X)``: puts a shape on the realistic score scale."""

    shape: SurfaceFn
    offset: float
    scale: float

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.offset + self.scale * self.shape(X)


def _pairs(d: int) -> tuple[tuple[int, ...], ...]:
    return tuple(combinations(range(d), 2))


def _quadratic_shape(d: int, rng: np.random.Generator) -> Polynomial:
    # Interactions lean synergistic (mixtures usually beat single datasets) but some are
    # antagonistic; their scale matches the linear terms' so optima are edges or interior.
    terms = tuple((i,) for i in range(d)) + _pairs(d)
    coefs = np.concatenate([rng.normal(0.0, 1.0, d), rng.normal(1.0, 2.5, len(_pairs(d)))])
    return Polynomial(terms, coefs)


def _cubic_shape(d: int, rng: np.random.Generator) -> Polynomial:
    quad = _quadratic_shape(d, rng)
    triples = tuple(combinations(range(d), 3))
    return Polynomial(quad.terms + triples,
                      np.concatenate([quad.coefs, rng.normal(0.0, 12.0, len(triples))]))


def _sharp_shape(d: int, rng: np.random.Generator) -> tuple[Bump, np.ndarray]:
    while True:  # an interior centre: every domain gets at least 5%
        centre = rng.dirichlet(np.full(d, 3.0))
        if centre.min() >= 0.05:
            break
    # The background's best vertex reaches ~40-50% of the bump's height: a smooth decoy.
    slope = rng.normal(0.0, 1.0, d)
    slope = 0.45 * (slope - slope.min()) / (np.ptp(slope) + 1e-12)
    background = Polynomial(tuple((i,) for i in range(d)), slope)
    return Bump(background, centre, float(rng.uniform(0.10, 0.15)), 1.0), centre[None, :]


def _sparse_shape(d: int, rng: np.random.Generator) -> ConcaveBowl:
    # The bowl's centre lies on the plane sum(w) = 1 with 1-2 negative coordinates; with a
    # diagonal curvature the constrained maximizer is ``max(m_i - tau / h_i, 0)``, tau > 0, so
    # every negative coordinate is exactly zero at the optimum.
    n_out = 1 if d < 4 else int(rng.integers(1, 3))
    out = rng.choice(d, size=n_out, replace=False)
    centre = np.zeros(d)
    centre[out] = -rng.uniform(0.05, 0.4, n_out)
    inside = np.setdiff1d(np.arange(d), out)
    centre[inside] = rng.dirichlet(np.full(len(inside), 2.0)) * (1.0 - centre[out].sum())
    return ConcaveBowl(centre, rng.uniform(0.5, 2.0, d))


def _diminishing_shape(d: int, rng: np.random.Generator) -> DiminishingReturns:
    pairs = _pairs(d)
    return DiminishingReturns(
        gains=rng.uniform(0.2, 1.0, d),
        rates=np.exp(rng.uniform(np.log(3.0), np.log(30.0), d)),
        interactions=Polynomial(pairs, rng.normal(0.0, 0.3, len(pairs))),
    )


def _builtin_shape(
    family: str, d: int, rng: np.random.Generator
) -> tuple[SurfaceFn, np.ndarray | None]:
    """A random surface of `family` (any scale) and points near its optimum, if known."""
    hints: np.ndarray | None = None
    shape: SurfaceFn
    if family == "quadratic":
        shape = _quadratic_shape(d, rng)
    elif family == "cubic":
        shape = _cubic_shape(d, rng)
    elif family == "sharp":
        shape, hints = _sharp_shape(d, rng)
    elif family == "sparse":
        shape = _sparse_shape(d, rng)
    else:
        shape = _diminishing_shape(d, rng)
    return shape, hints


def builtin(family: str, space: MixtureSpace, *, seed: int) -> Oracle:
    """A seeded random instance of a built-in `family` (one of `BUILTIN_FAMILIES`) on `space`.

    Raises:
        MixoptError: unknown family, or fewer than 2 domains.
    """
    if family not in BUILTIN_FAMILIES:
        raise MixoptError(
            f"unknown oracle family {family!r}; built-in families: {', '.join(BUILTIN_FAMILIES)}"
        )
    if space.dim < 2:
        raise MixoptError(f"oracle {family!r} needs at least 2 domains, got {space.dim}")
    # The family's name is mixed into the seed so that seed s of two families are unrelated.
    rng = np.random.default_rng([seed, BUILTIN_FAMILIES.index(family)])
    shape, hints = _builtin_shape(family, space.dim, rng)
    raw = find_extremes(shape, space, hints=hints)
    spread = raw.maximum - raw.minimum
    if not spread > 0:  # pragma: no cover - a random instance is never flat
        raise MixoptError(f"oracle {family!r} seed {seed}: the surface is flat")
    low = float(rng.uniform(*_MINIMUM_RANGE))
    target = float(rng.uniform(*_SPREAD_RANGE))
    scale = target / spread
    function = Rescaled(shape, low - scale * raw.minimum, scale)
    extremes = Extremes(argmax=raw.argmax, maximum=low + target, argmin=raw.argmin, minimum=low)
    return Oracle(family, space, function, extremes)


# --- oracles from observed results and from user code -----------------------------------------


@dataclass(frozen=True, eq=False)
class SurrogateMean:
    """The predictive mean of a fitted surrogate, `m x d -> m`."""

    surrogate: Surrogate

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.surrogate.predict(X).mean


def _csv_columns(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # as read_csv reads it
            return [h.strip() for h in next(csv.reader(fh), [])]
    except FileNotFoundError:
        raise MixoptError(f"oracle csv: file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise MixoptError(f"oracle csv: cannot read {path} ({err})") from None


def from_csv(spec: str, *, seed: int = 0) -> Oracle:
    """``csv:PATH[#COLUMN]``: the posterior mean of a Matérn GP fitted to observed results.

    The objective is COLUMN, or the only column of the file not named ``w.<domain>``.

    Raises:
        MixoptError: unreadable file, no or several candidate objective columns, or a GP fit
            that failed (ObservationError, FitError are MixoptErrors).
    """
    from mixopt import surrogates
    from mixopt.observations import WEIGHT_PREFIX, read_csv

    body = spec[len("csv:"):]
    path_text, _, column = body.partition("#")
    if not path_text:
        raise MixoptError(f"oracle {spec!r}: expected csv:PATH or csv:PATH#COLUMN")
    path = Path(path_text)
    if not column:
        metrics = [c for c in _csv_columns(path) if c and not c.startswith(WEIGHT_PREFIX)]
        if len(metrics) != 1:
            raise MixoptError(
                f"oracle {spec!r}: cannot tell the objective among metric columns {metrics}; "
                f"name it as csv:{path_text}#COLUMN"
            )
        column = metrics[0]
    observations = read_csv(path, [column])
    gp = surrogates.create("gp", observations.space, seed=seed)
    gp.fit(observations.X, observations.Y[:, 0])
    # A GP mean is smooth and its optimum is near the data (passed as hints): a few SLSQP
    # polishes suffice, and each costs hundreds of single-point GP predictions.
    return Oracle.from_function(
        spec, observations.space, SurrogateMean(gp), hints=observations.X, n_polish=3
    )


@dataclass(frozen=True, eq=False)
class MappingFunction:
    """Adapts ``f({domain: weight}) -> float`` to `m x d -> m`."""

    function: Callable[[Mapping[str, float]], float]
    domains: tuple[str, ...]

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.array(
            [float(self.function(dict(zip(self.domains, row.tolist(), strict=True))))
             for row in X]
        )


def from_python(spec: str, *, domains: Sequence[str] | None = None) -> Oracle:
    """``py:MODULE:FUNCTION``: an importable ``f({domain: weight}) -> float``.

    The domains are `domains` if given, else the attribute ``DOMAINS`` of the function or
    of its module.

    Raises:
        MixoptError: malformed spec, module or function not found, no domains known, or a
            function that does not return a finite number.
    """
    parts = spec.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise MixoptError(f"oracle {spec!r}: expected py:MODULE:FUNCTION")
    _, module_name, function_name = parts
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise MixoptError(
            f"oracle {spec!r}: cannot import module {module_name!r} ({err})"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise MixoptError(f"oracle {spec!r}: module {module_name!r} has no function "
                          f"{function_name!r}")
    names = domains or getattr(function, "DOMAINS", None) or getattr(module, "DOMAINS", None)
    if not names:
        raise MixoptError(f"oracle {spec!r}: no DOMAINS attribute on the function or module; "
                          "pass the domain names (--domains a,b,c)")
    space = MixtureSpace(tuple(names))
    surface = MappingFunction(function, space.domains)
    probe = surface(designs.centroid(space))
    if not np.all(np.isfinite(probe)):
        raise MixoptError(f"oracle {spec!r}: the function returned {probe[0]} at the centroid")
    return Oracle.from_function(spec, space, surface)


def default_domains(dim: int) -> tuple[str, ...]:
    """The reference's five domain names for ``dim == 5``, else ``d0 .. d{dim-1}``."""
    return REFERENCE_DOMAINS if dim == len(REFERENCE_DOMAINS) else tuple(
        f"d{i}" for i in range(dim)
    )


def make_oracle(
    spec: str, *, seed: int, dim: int = 5, domains: Sequence[str] | None = None
) -> Oracle:
    """The oracle named by `spec`: a built-in family, ``csv:PATH[#COLUMN]`` or ``py:MOD:FN``.

    Args:
        seed: the instance of a built-in family (also seeds the csv oracle's GP fit).
        dim: number of domains of a built-in family (ignored when `domains` is given).
        domains: domain names of a built-in family or a ``py:`` oracle.

    Raises:
        MixoptError: unknown spec (what exists is listed) or a problem building it.
    """
    if spec.startswith("csv:"):
        return from_csv(spec, seed=seed)
    if spec.startswith("py:"):
        return from_python(spec, domains=domains)
    if spec in BUILTIN_FAMILIES:
        if dim < 2 and not domains:
            raise MixoptError(f"oracle {spec!r} needs at least 2 domains, got {dim}")
        space = MixtureSpace(tuple(domains) if domains else default_domains(dim))
        return builtin(spec, space, seed=seed)
    raise MixoptError(
        f"unknown oracle {spec!r}; known: {', '.join(BUILTIN_FAMILIES)}, "
        f"builtin (all of them), {', '.join(SPEC_FORMS)}"
    )
