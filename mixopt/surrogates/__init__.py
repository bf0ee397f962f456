"""Surrogate models of an objective over mixtures, and their registry.

Use ``create(name, space, seed=...)``; ``names()`` lists what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mixopt.errors import MixoptError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import (
    Prediction,
    Recommendation,
    Surrogate,
    recommend_by_mean,
    validate_training_data,
)

_REGISTRY: dict[str, Callable[..., Surrogate]] = {}


def register(name: str, factory: Callable[..., Surrogate]) -> None:
    """Register `factory(space, *, seed, **options)` under `name`. Refuses duplicates."""
    if name in _REGISTRY:
        raise MixoptError(f"surrogate {name!r} is already registered")
    _REGISTRY[name] = factory


def names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def create(name: str, space: MixtureSpace, *, seed: int = 0, **options: Any) -> Surrogate:
    """Build the surrogate called `name` for `space`.

    Raises:
        MixoptError: unknown name (the known names are listed).
    """
    _load_builtins()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise MixoptError(
            f"unknown surrogate {name!r}; known surrogates: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(space, seed=seed, **options)


def _load_builtins() -> None:
    # Imported lazily: the GP pulls in torch/BoTorch, which the light models do not need.
    if _REGISTRY:
        return
    from mixopt.surrogates import gp, linear, quadsurface, scheffe

    for module in (gp, linear, quadsurface, scheffe):
        for cls in module.SURROGATES:
            register(cls.name, cls)


__all__ = [
    "Prediction",
    "Recommendation",
    "Surrogate",
    "create",
    "names",
    "recommend_by_mean",
    "register",
    "validate_training_data",
]
