"""Field types for the validated configs of `rlvr` (job files, domain files).

Pydantic's lax mode reads ``True`` as ``1``/``1.0`` and ``"3"`` as ``3``; in a config file
that hides mistakes, so integers and booleans here are strict. Reals accept ints and numeric
strings on purpose: YAML 1.1 reads ``1e-6`` (no dot) as a string, a trap for anyone who copies
a learning rate, but a boolean is still refused.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field


def _refuse_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value}")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"must be finite, got {value}")
    return value


StrictBool = Annotated[bool, Field(strict=True)]
Int = Annotated[int, Field(strict=True)]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
Real = Annotated[float, BeforeValidator(_refuse_bool), AfterValidator(_finite)]
NonNegativeReal = Annotated[Real, Field(ge=0)]
PositiveReal = Annotated[Real, Field(gt=0)]
NonEmptyStr = Annotated[str, Field(strict=True, min_length=1)]
