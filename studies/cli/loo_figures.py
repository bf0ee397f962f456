"""Leave-one-out figures with the number of trials each refers to.

`study predict` computes LOO for the surrogate fitted to every completed trial now; the study
logged LOO as parent-run metrics (``loo_rmse``, ...) each round before proposing, at MLflow
step = the trials that round's surrogate saw (warm-start trials included). The two differ
whenever trials completed after the last round: both are shown with their trial count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mixopt.surrogates.diagnostics import LOODiagnostics

# Parent-run metric -> key in `logged_loo`'s result.
LOGGED = {"loo_rmse": "rmse", "loo_baseline_rmse": "mean_baseline_rmse",
          "loo_spearman": "spearman", "loo_coverage90": "coverage90"}


def loo_json(diag: LOODiagnostics, trials: int) -> dict[str, Any]:
    """`diag` as JSON, with the number of trials the surrogate was fitted to."""
    return {"trials": trials, "rmse": diag.rmse, "mean_baseline_rmse": diag.mean_baseline_rmse,
            "spearman": None if math.isnan(diag.spearman) else diag.spearman,
            "coverage90": diag.coverage90, "worse_than_mean": diag.worse_than_mean}


def logged_loo(client: MlflowClient, parent_run_id: str | None) -> dict[str, Any] | None:
    """The study's last logged LOO metrics (`last_logged`) read through MLflow's client."""
    if parent_run_id is None:
        return None
    return last_logged({metric: [(m.step, m.value) for m in
                                 client.get_metric_history(parent_run_id, metric)]
                        for metric in LOGGED})


def last_logged(history: Mapping[str, Sequence[tuple[int, float]]]) -> dict[str, Any] | None:
    """The last logged LOO metrics of the parent run's `history` (metric -> ``(step,
    value)`` points in MLflow's order): ``{"trials": step, "rmse": ..., ...}`` (a metric
    missing at that step is None), or None when the study logged none."""
    steps = [step for metric in LOGGED for step, _ in history.get(metric, [])]
    if not steps:
        return None
    last = max(steps)
    out: dict[str, Any] = {"trials": last}
    for metric, key in LOGGED.items():
        at_last = [value for step, value in history.get(metric, []) if step == last]
        out[key] = at_last[-1] if at_last else None
    return out


def loo_lines(summary: str | None, trials: int, logged: dict[str, Any] | None) -> list[str]:
    """What `study predict` prints: this fit's LOO over `trials` (`summary`, from
    ``LOODiagnostics.summary(unit="trials")``, None without LOO), then the parent run's."""
    lines = [f"this fit: {summary}" if summary is not None
             else f"this fit: no LOO ({trials} completed trial(s); it needs 3)"]
    if logged is None:
        lines.append("parent run: no loo_* metrics logged")
        return lines
    formats = (("rmse", "rmse", "{:.4g}"), ("spearman", "spearman", "{:.3f}"),
               ("90% coverage", "coverage90", "{:.0%}"))
    figures = ", ".join(f"{name} {fmt.format(logged[key])}" for name, key, fmt in formats
                        if logged[key] is not None)
    line = (f"parent run: loo_* metrics last logged at step {logged['trials']} "
            f"(LOO over {logged['trials']} trials): {figures}")
    if logged["trials"] != trials:
        line += (f"; logged when the study last proposed (step = trials its surrogate saw, "
                 f"warm-start trials included), this fit has {trials}")
    lines.append(line)
    return lines
