"""`study report`'s page kept in the study's folder, keyed by everything it is drawn from.

The page is a function of the study's view alone (`studies.report.build_report_html`): the
surrogate's fit, its leave-one-out, the effect curves, the interactions and the figures take
seconds, and importing torch, BoTorch and matplotlib more. The key is a hash of the whole view
as read from the store (every attempt of every trial with all its fields, the study's name,
objective, surrogate settings, bounds, seed and parent run), of the source of the code that
draws the page (all of `mixopt`, the report, the analysis, the trial records, this module) and
of the versions of Python and of the libraries it uses: a new or changed trial, another
setting, changed code or another library version draws the page afresh, so a kept page is
never stale. Files live in ``<study_dir>/cache/`` beside `predict_cache`'s (safe to delete);
a damaged or unreadable one is ignored and redrawn.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from studies.cli.predict_cache import CACHE_DIR, code_fingerprint

if TYPE_CHECKING:
    from studies.analysis import StudyView

SCHEMA = 1
KEEP = 4  # newest pages kept per study
# The code whose change can change the page (relative to the repository root).
SOURCES = ("mixopt", "studies/report.py", "studies/analysis.py", "studies/trials.py",
           "studies/cli/report_cache.py", "studies/cli/predict_cache.py")
LIBRARIES = ("numpy", "scipy", "torch", "gpytorch", "botorch", "linear_operator",
             "matplotlib", "pillow")
_START = "<!DOCTYPE html>\n"
_END = "</html>\n"


def cache_key(view: StudyView) -> str:
    """The hash of everything the report of `view` depends on."""
    inputs = {"schema": SCHEMA, "view": dataclasses.asdict(view),
              "code": code_fingerprint(SOURCES, LIBRARIES),
              "python": platform.python_version()}
    text = json.dumps(inputs, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def entry(study_dir: Path, key: str) -> Path:
    """Where the page of `key` is kept."""
    return study_dir / CACHE_DIR / f"report-{key}.html"


def load(study_dir: Path, key: str) -> str | None:
    """The kept page of `key`, or None (absent, unreadable or not a whole page)."""
    try:
        page = entry(study_dir, key).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    return page if page.startswith(_START) and page.endswith(_END) else None


def save(study_dir: Path, key: str, page: str) -> None:
    """Keep `page` under `key` (written whole or not at all); drops old pages beyond `KEEP`.
    A folder that cannot be written is no error: the page is just not kept."""
    target = entry(study_dir, key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, target)
        pages = sorted(target.parent.glob("report-*.html"), key=lambda p: p.stat().st_mtime)
        for old in pages[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        return
