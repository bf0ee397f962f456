"""Numbers of one table column (or row) written alike: the same decimals for every value.

``0.53, 0.5312, 0.5`` -> ``0.5300, 0.5312, 0.5000``, not ``0.53, 0.5312, 0.5`` as ``{:.4g}``
writes them; values far from 1 in size (below 1e-3 or from 1e6 on) put the whole column in
scientific notation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Significant digits of the largest value of a column; the others get as many decimals.
SIGNIFICANT = 4
# Largest value of a column outside [SMALL, LARGE): the column is in scientific notation.
SMALL, LARGE = 1e-3, 1e6


def format_column(values: Sequence[float | None], significant: int = SIGNIFICANT) -> list[str]:
    """`values` written with one number of decimals, chosen so that the largest in magnitude
    shows `significant` digits (``""`` for None, ``nan``/``inf`` as such).

    Raises:
        ValueError: `significant` < 1.
    """
    if significant < 1:
        raise ValueError(f"significant must be >= 1, got {significant}")
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    largest = max(finite, default=0.0)
    if largest != 0.0 and not SMALL <= largest < LARGE:
        spec = f".{significant - 1}e"
    else:
        exponent = math.floor(math.log10(largest)) if largest > 0 else 0
        spec = f".{max(0, significant - 1 - exponent)}f"
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif not math.isfinite(float(v)):
            out.append(repr(float(v)))
        else:
            out.append(format(float(v), spec))
    return out
