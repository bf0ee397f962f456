"""Writing a page (the report's HTML) whole or not at all, with the default permissions."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_page(page: str, out: Path) -> Path:
    """Write `page` to the file `out` atomically (creating its folder) and return `out`.

    Raises:
        OSError: `out` cannot be written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Beside `out` (same file system, so os.replace is atomic), created with the default
    # permissions (mkstemp's would be 0600).
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(page)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
