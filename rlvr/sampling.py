"""Mixture sampling: which example of which domain each training prompt comes from.

Domains are known only by name and size (number of examples), so this module knows nothing
about datasets. Two modes:

- `sample_mixture` (the default): exact per-domain quotas by largest-remainder rounding of
  ``w_i * N``, a seeded draw inside each domain and a seeded interleave. Every trial of a study
  gets the same number of prompts ``N``, which keeps trials comparable.
- `interleave_under`: the reference's semantics (Hugging Face ``interleave_datasets`` with
  ``stopping_strategy="first_exhausted"``), kept as an explicitly named compatibility mode. Its
  runs have different lengths for different mixtures.

Seeding: the draw inside a domain depends only on ``(seed, domain name)`` and the interleave only
on ``seed``, so listing the domains in another order gives the same plan.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

WEIGHT_SUM_TOLERANCE = 1e-6
# Distinct streams for the two uses of the seed (see `_domain_rng` and `_interleave_rng`).
_INTERLEAVE_STREAM = 0
_DOMAIN_STREAM = 1
# `interleave_under` draws domains in blocks; the block size is part of its seeded semantics.
_DRAW_BLOCK = 4096


class OversamplingWarning(UserWarning):
    """A domain's quota exceeds its size, so some of its examples are used more than once."""


@dataclass(frozen=True)
class MixturePlan:
    """The ordered training prompts of one trial.

    Attributes:
        items: ``N`` pairs ``(domain, index in that domain)``, in training order.
        counts: domain -> number of items from it (sums to ``N``); every domain of the weights.
        with_replacement: domain -> whether its items repeat examples (quota > size).
        mode: ``"exact"`` (`sample_mixture`) or ``"interleave_under"`` (`interleave_under`).

    Raises:
        ValueError: if ``counts`` does not match ``items``. Treat the mappings as read-only.
    """

    items: tuple[tuple[str, int], ...]
    counts: dict[str, int]
    with_replacement: dict[str, bool]
    mode: Literal["exact", "interleave_under"]

    def __post_init__(self) -> None:
        seen = dict.fromkeys(self.counts, 0)
        for domain, _ in self.items:
            seen[domain] = seen.get(domain, 0) + 1
        if seen != dict(self.counts):
            raise ValueError(f"counts {dict(self.counts)} do not match the items {seen}")
        if set(self.with_replacement) != set(self.counts):
            raise ValueError("with_replacement must name the same domains as counts")

    def __len__(self) -> int:
        return len(self.items)

    def summary(self) -> dict[str, object]:
        """A JSON-serializable record for the result file and MLflow (counts, replacement, mode)."""
        return {
            "mode": self.mode,
            "num_samples": len(self.items),
            "counts": dict(self.counts),
            "with_replacement": sorted(d for d, flag in self.with_replacement.items() if flag),
        }


def largest_remainder_counts(weights: Mapping[str, float], budget: int) -> dict[str, int]:
    """Integer counts per domain that sum to ``budget`` exactly and are closest to ``w_i * N``.

    Each domain gets ``floor(w_i * N)``, then the ``N - sum(floors)`` remaining units go to the
    largest fractional parts, ties broken by domain name (ascending), so the result does not
    depend on the order of ``weights``. The weights are normalised exactly (rational arithmetic)
    before rounding, so ``|counts[d] - w_d * N / sum(w)| < 1`` and a zero weight gets 0.

    Args:
        weights: domain name -> weight; finite, non-negative, summing to 1 within 1e-6.
        budget: ``N``, a non-negative integer.

    Returns:
        domain name -> count, in the order of ``weights``.

    Raises:
        ValueError: on invalid weights or budget (one-line message naming the problem).
    """
    _check_weights(weights)
    _check_non_negative_int("budget", budget)
    exact = {name: Fraction(float(w)) for name, w in weights.items()}
    total = sum(exact.values())
    quotas = {name: w * budget / total for name, w in exact.items()}
    counts = {name: math.floor(q) for name, q in quotas.items()}
    remaining = budget - sum(counts.values())
    by_remainder = sorted(quotas, key=lambda name: (-(quotas[name] - counts[name]), name))
    for name in by_remainder[:remaining]:
        counts[name] += 1
    return counts


def sample_mixture(
    sizes: Mapping[str, int], weights: Mapping[str, float], budget: int, seed: int
) -> MixturePlan:
    """Exact quotas, a seeded draw inside each domain and a seeded interleave.

    A domain whose quota ``q`` does not exceed its size ``n`` gets ``q`` distinct examples. One
    whose quota exceeds its size is sampled with replacement, balanced: every example is used
    ``q // n`` times and ``q % n`` of them once more (drawn without replacement), which has less
    variance than independent draws; this raises an `OversamplingWarning` and is recorded in
    ``plan.with_replacement``.

    Args:
        sizes: domain name -> number of examples; must name every domain of positive weight.
        weights: domain name -> weight (see `largest_remainder_counts`).
        budget: ``N``, the number of prompts of the trial.
        seed: a non-negative integer.

    Returns:
        A `MixturePlan` of ``N`` items, mode ``"exact"``.

    Raises:
        ValueError: invalid weights, budget, seed or sizes; a domain of positive weight that is
            missing from ``sizes`` or has size 0 (the message names it).
    """
    counts = largest_remainder_counts(weights, budget)
    _check_non_negative_int("seed", seed)
    _check_sizes(sizes, weights)
    items: list[tuple[str, int]] = []
    with_replacement: dict[str, bool] = {}
    for name in sorted(counts):
        quota = counts[name]
        size = sizes.get(name, 0)
        with_replacement[name] = quota > size
        if quota == 0:
            continue
        rng = _domain_rng(seed, name)
        repeats, rest = divmod(quota, size)
        if quota > size:
            warnings.warn(
                f"domain {name!r}: quota {quota} exceeds its {size} examples; "
                "sampling it with replacement",
                OversamplingWarning,
                stacklevel=2,
            )
        indices = np.concatenate(
            [np.tile(np.arange(size), repeats), rng.choice(size, size=rest, replace=False)]
        )
        items.extend((name, int(i)) for i in indices)
    order = _interleave_rng(seed).permutation(len(items))
    return MixturePlan(
        items=tuple(items[i] for i in order),
        counts=dict(counts),
        with_replacement={name: with_replacement[name] for name in counts},
        mode="exact",
    )


def interleave_under(
    sizes: Mapping[str, int],
    weights: Mapping[str, float],
    seed: int,
    max_samples: int | None = None,
) -> MixturePlan:
    """The reference's semantics: draw a domain per step, stop when the drawn one is exhausted.

    Compatibility mode (Hugging Face ``interleave_datasets(probabilities=w,
    stopping_strategy="first_exhausted")``): at each step a domain is drawn with probability
    ``w_i`` (seeded), and its next example in a seeded per-domain permutation is taken; the run
    stops as soon as the drawn domain has no example left (or after ``max_samples`` items).
    Runs therefore have different lengths for different mixtures, and the realised proportions
    are random; prefer `sample_mixture` for comparable trials. Nothing is sampled with
    replacement.

    Args:
        sizes: domain name -> number of examples; must name every domain of positive weight.
        weights: domain name -> weight (see `largest_remainder_counts`).
        seed: a non-negative integer.
        max_samples: optional cap on the number of items (non-negative).

    Returns:
        A `MixturePlan` of mode ``"interleave_under"``.

    Raises:
        ValueError: invalid weights, seed, sizes or ``max_samples``; a domain of positive weight
            that is missing from ``sizes`` or has size 0 (the message names it).
    """
    _check_weights(weights)
    _check_non_negative_int("seed", seed)
    _check_sizes(sizes, weights)
    if max_samples is not None:
        _check_non_negative_int("max_samples", max_samples)
    names = sorted(name for name, w in weights.items() if w > 0)
    probabilities = np.array([float(weights[name]) for name in names])
    probabilities /= probabilities.sum()
    permutations = {name: _domain_rng(seed, name).permutation(sizes[name]) for name in names}
    taken = dict.fromkeys(names, 0)
    limit = math.inf if max_samples is None else max_samples
    items: list[tuple[str, int]] = []
    rng = _interleave_rng(seed)
    exhausted = False
    while not exhausted and len(items) < limit:
        for k in rng.choice(len(names), size=_DRAW_BLOCK, p=probabilities):
            name = names[k]
            if taken[name] == sizes[name]:
                exhausted = True
                break
            items.append((name, int(permutations[name][taken[name]])))
            taken[name] += 1
            if len(items) >= limit:
                break
    return MixturePlan(
        items=tuple(items),
        counts={name: taken.get(name, 0) for name in weights},
        with_replacement=dict.fromkeys(weights, False),
        mode="interleave_under",
    )


def _domain_rng(seed: int, name: str) -> np.random.Generator:
    # crc32 rather than hash(): Python's str hash is salted per process.
    return np.random.default_rng([seed, _DOMAIN_STREAM, zlib.crc32(name.encode())])


def _interleave_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, _INTERLEAVE_STREAM])


def _check_weights(weights: Mapping[str, float]) -> None:
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError("weights must be a non-empty mapping of domain name -> weight")
    for name, w in weights.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"domain names must be non-empty strings, got {name!r}")
        if isinstance(w, bool) or not isinstance(w, int | float | np.integer | np.floating):
            raise ValueError(f"weight of domain {name!r} is not a number: {w!r}")
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weight of domain {name!r} must be finite and >= 0, got {w!r}")
    total = math.fsum(float(w) for w in weights.values())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"weights must sum to 1 (within {WEIGHT_SUM_TOLERANCE}), got {total!r}")


def _check_sizes(sizes: Mapping[str, int], weights: Mapping[str, float]) -> None:
    for name, size in sizes.items():
        _check_non_negative_int(f"size of domain {name!r}", size)
    for name, w in weights.items():
        if w > 0 and name not in sizes:
            raise ValueError(f"domain {name!r} has weight {w} but no size")
        if w > 0 and sizes[name] == 0:
            raise ValueError(f"domain {name!r} has weight {w} but no examples")


def _check_non_negative_int(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
