"""The MLflow UI's opening view of a study experiment: every study's trials expanded, sorted
by objective, with the objective and the weights as the first columns.

MLflow 3's runs page reads a "shared view" from the experiment tag
``mlflow.sharedViewState.<key>`` (plain JSON accepted) when opened with
``?viewStateShareKey=<key>``; `mixopt ui` prints that address. The keys are those of MLflow's
own view state (``selectedColumns`` as ``metrics.`name``` / ``params.`name```).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

VIEW_KEY = "mixopt"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
MAX_EXPANDED = 100  # studies whose trials open expanded (keeps the tag under MLflow's limit)


def merged_view(previous: str | None, parent: str, domains: Iterable[str],
                objective: str) -> dict[str, Any]:
    """The view state with study `parent` (its weights ``w.<domain>``) added to `previous`
    (the tag's JSON, or None); a tag that is not ours is replaced."""
    try:
        old = json.loads(previous) if previous else {}
    except ValueError:
        old = {}
    old = old if isinstance(old, dict) else {}
    columns = [c for c in old.get("selectedColumns", []) if isinstance(c, str)]
    wanted = [f"metrics.`{objective}`", *(f"params.`w.{d}`" for d in domains)]
    columns = [c for c in wanted if c not in columns] + columns
    if f"metrics.`{objective}`" in columns:  # the objective first, then the weights
        columns.remove(f"metrics.`{objective}`")
        columns.insert(0, f"metrics.`{objective}`")
    expanded = {k: True for k in old.get("runsExpanded", {}) if isinstance(k, str)}
    expanded[parent] = True
    return {
        "selectedColumns": columns,
        "runsExpanded": dict(list(expanded.items())[-MAX_EXPANDED:]),
        "orderByKey": f"metrics.`{objective}`", "orderByAsc": False,
        "runsHiddenMode": "SHOW_ALL",
    }
