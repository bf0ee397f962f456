"""Limits on a domain's data that the CLI shows as option defaults.

Kept apart from `rlvr.domains` (Pillow, the loaders and the registry: a tenth of a second and
more to import) so that `mixopt --help` can show them without importing that package.
"""

from __future__ import annotations

# Largest fraction of a domain's records that may be bad (skipped) before loading is an error.
MAX_BAD_FRACTION = 0.01
