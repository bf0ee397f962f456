"""The MLflow UI's opening view of a study experiment: the trials of every study, sorted by
objective, with the objective and the weights as the first columns.

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
TRIALS_ONLY = "tags.`mixopt.role` = 'trial'"  # studies.ledger.ROLE: every study's trials, flat


def merged_view(previous: str | None, domains: Iterable[str], objective: str) -> dict[str, Any]:
    """The view state with the weights ``w.<domain>`` of `domains` added to the columns of
    `previous` (the tag's JSON, or None; a tag that is not ours is replaced): the trials of
    every study in the experiment, sorted by `objective`, its column first, then the weights."""
    try:
        old = json.loads(previous) if previous else {}
    except ValueError:
        old = {}
    old = old if isinstance(old, dict) else {}
    first = f"metrics.`{objective}`"
    columns = [c for c in old.get("selectedColumns", []) if isinstance(c, str) and c != first]
    columns += [c for c in (f"params.`w.{d}`" for d in domains) if c not in columns]
    return {
        "selectedColumns": [first, *columns],
        "searchFilter": TRIALS_ONLY,
        "orderByKey": first, "orderByAsc": False,
        "runsHiddenMode": "SHOW_ALL",
    }
