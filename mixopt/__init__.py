"""mixopt: the maths of data mixtures. Simplex, designs, surrogates, proposals, benchmarks.

Imports none of `rlvr`, `evaluators` or `studies`: it knows mixtures and numbers, not models.
"""

from mixopt.errors import FitError, MixoptError, MixtureError, ObservationError
from mixopt.mixture import DomainBounds, Mixture, MixtureSpace

__all__ = [
    "DomainBounds",
    "FitError",
    "MixoptError",
    "Mixture",
    "MixtureError",
    "MixtureSpace",
    "ObservationError",
]
