"""The options each built-in surrogate accepts, checked without building it (no torch import).

A study config names a surrogate and its options; `check` finds every problem before the first
trial trains, so a typo costs a second and not the initial design. The constructors of the
built-in surrogates take exactly these keywords (plus `seed`); tests/mixopt/surrogates checks
that the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

# GP covariance modules (`mixopt.surrogates.gp.make_kernel`); here so that checking a config
# does not import torch.
KERNELS = ("matern", "quadratic+matern")
# Surrogates whose fitted model is a BoTorch model (``to_botorch``): qLogNEI/qLogNEHVI apply.
BOTORCH_SURROGATES = ("gp", "linear", "scheffe")
# Surrogates that model observation noise (their `std` is that of a new observation).
NOISE_OPTION = "noise_floor_var"

Check = Callable[[Any], str | None]  # a problem with the value, or None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _nonnegative(value: Any) -> str | None:
    number = _number(value)
    return None if number is not None and number >= 0 else f"expected a number >= 0, got {value!r}"


def _positive(value: Any) -> str | None:
    number = _number(value)
    return None if number is not None and number > 0 else f"expected a number > 0, got {value!r}"


def _positive_int(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else f"expected an integer >= 1, got {value!r}"


def _fraction(value: Any) -> str | None:
    number = _number(value)
    return None if number is not None and 0 < number < 1 else \
        f"expected a number strictly between 0 and 1, got {value!r}"


def _kernel(value: Any) -> str | None:
    return None if value in KERNELS else \
        f"unknown kernel {value!r}; known: {', '.join(KERNELS)}"


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


# name -> option -> check. `noise_floor_var` (units of the objective squared) is what the
# search policy sets from replicates or a known noise sd; a user may give it too.
OPTIONS: dict[str, dict[str, Check]] = {
    "gp": {"kernel": _kernel, "noise_var": _optional(_nonnegative),
           NOISE_OPTION: _optional(_nonnegative)},
    "linear": {"min_noise_var": _positive, "noise_var": _optional(_nonnegative),
               NOISE_OPTION: _optional(_nonnegative)},
    "scheffe": {"min_noise_var": _positive, "noise_var": _optional(_nonnegative),
                NOISE_OPTION: _optional(_nonnegative)},
    "quadsurface": {"n_splits": _positive_int, "test_fraction": _fraction,
                    "n_candidates": _positive_int, "min_candidates": _positive_int,
                    NOISE_OPTION: _optional(_nonnegative)},
}


def check(name: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems of surrogate `name` with `options`, as ``(key, message)`` pairs.

    `key` is ``"name"`` or ``"options.<option>"``. Surrogates registered at run time (not
    built in) are checked against their factory's keyword parameters.
    """
    known = OPTIONS.get(name)
    if known is None:
        from mixopt import surrogates  # registered ones only: this imports the built-ins too

        if name not in surrogates.names():
            return [("name", f"unknown surrogate {name!r}; known: "
                     f"{', '.join(surrogates.names())}")]
        return _check_signature(name, options)
    problems = []
    for key, value in options.items():
        if key not in known:
            problems.append((f"options.{key}", f"surrogate {name!r} has no option {key!r}; "
                             f"options: {', '.join(sorted(known))}"))
            continue
        problem = known[key](value)
        if problem is not None:
            problems.append((f"options.{key}", problem))
    return problems


def _check_signature(name: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    import inspect

    from mixopt import surrogates

    factory = surrogates._REGISTRY[name]
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return []
    accepted = {k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    accepted.discard("seed")
    return [(f"options.{key}", f"surrogate {name!r} has no option {key!r}; options: "
             f"{', '.join(sorted(accepted)) or 'none'}") for key in options if key not in accepted]
