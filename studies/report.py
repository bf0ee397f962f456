"""A study's report: one self-contained HTML page (plots inline as PNG, no scripts, no URLs).

Sections: the study at a glance; the objective by trial with the best so far; the surrogate's
leave-one-out predictions against the observed values; per-domain effect curves; pairwise
interactions; the recommendation beside the best observed trial; every trial attempt.
The model parts need a fitted surrogate; until one can be fitted (too few completed trials)
the page says why they are missing and renders the rest.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mixopt.errors import MixoptError
from mixopt.surrogates.diagnostics import Z90, LOODiagnostics
from studies.analysis import (
    FittedStudy,
    StudyView,
    best_so_far,
    effect_curves,
    fit_study,
    interaction_matrix,
)
from studies.page_file import write_page
from studies.trials import TrialRecord, TrialStatus, completed, latest_attempts

DPI = 100
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 70em; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.8em; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td.text, th.text { text-align: left; }
tr.status-failed td, tr.status-abandoned td { color: #a33; }
tr.status-queued td, tr.status-running td { color: #777; }
figure.plot { margin: 0.5em 0; }
figure.plot img { max-width: 100%; height: auto; }
figcaption, p.caption { color: #555; font-size: 0.92em; }
p.notice { background: #fff6e0; border-left: 4px solid #e0a800; padding: 0.5em 0.8em; }
.side-by-side { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
"""


def render_report(view: StudyView, out: Path) -> Path:
    """Write `view`'s report to the HTML file `out` (atomically) and return `out`.

    The surrogate is fitted here (``fit_study``); a study it cannot be fitted to yet still
    gets a page, with a notice in place of the model parts.

    Raises:
        OSError: `out` cannot be written.
    """
    return write_page(build_report_html(view), out)


def build_report_html(view: StudyView) -> str:
    """The report of `view` as one HTML document (a string); see `render_report`."""
    try:
        fitted: FittedStudy | None = fit_study(view)
        model_error = ""
    except MixoptError as err:  # FitError (too few trials, failed fit) or an unknown surrogate
        fitted, model_error = None, str(err)

    parts = [_header(view)]
    parts.append(_objective_section(view))
    if fitted is None:
        parts.append(
            '<section id="model"><h2>Surrogate model</h2>'
            '<p class="notice" id="model-missing">The model parts of this report (leave-one-out '
            "predictions, effect curves, interactions, recommendation) are missing because "
            f"the surrogate could not be fitted: {_esc(model_error)}</p></section>"
        )
        parts.append(_recommendation_section(view, None, model_error))
    else:
        try:
            parts.append(_loo_section(fitted))
            parts.append(_effects_section(fitted))
            parts.append(_interactions_section(fitted))
            parts.append(_recommendation_section(view, fitted, ""))
        except MixoptError as err:  # a surrogate that fits but cannot predict or recommend
            parts.append(
                '<p class="notice" id="model-missing">The remaining model parts are missing: '
                f"{_esc(str(err))}</p>"
            )
    parts.append(_trials_section(view))
    body = "\n".join(parts)
    title = f"mixopt study {view.name}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # An empty icon: without it a browser asks for /favicon.ico.
        '<link rel="icon" href="data:,">\n'
        f"<title>{_esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


# ---- sections --------------------------------------------------------------------------


def _header(view: StudyView) -> str:
    latest = latest_attempts(view.trials)
    counts = Counter(r.status for r in latest)
    by_status = ", ".join(f"{counts[s]} {s.value}" for s in TrialStatus if counts[s]) or "none yet"
    facts = [
        ("Objective", f"{view.objective} ({_direction(view)})"),
        ("Domains", ", ".join(view.domains)),
        ("Surrogate", view.surrogate if view.proxy_kernel is None else
         f"{view.surrogate}; with proxy trials the multi-fidelity GP ({view.proxy_kernel}) "
         f"of proxies {', '.join(f'{k} (cost {v:g})' for k, v in view.proxy_costs.items())}"),
        ("Trials", f"{len(latest)} ({by_status}); {len(view.trials)} attempt(s) in all"),
        ("Seed", str(view.seed)),
    ]
    if view.bounds:
        facts.insert(
            2,
            (
                "Bounds",
                ", ".join(f"{d} in [{lo:g}, {hi:g}]" for d, (lo, hi) in view.bounds.items()),
            ),
        )
    if view.parent_run_id:
        facts.append(("MLflow parent run", view.parent_run_id))
    rows = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts)
    status_cells = "".join(f'<td data-status="{s.value}">{counts[s]}</td>' for s in TrialStatus)
    status_head = "".join(f"<th>{s.value}</th>" for s in TrialStatus)
    return (
        f'<header id="summary"><h1>Study {_esc(view.name)}</h1>'
        f'<dl class="facts">{rows}</dl>'
        f'<table id="table-status"><thead><tr>{status_head}</tr></thead>'
        f"<tbody><tr>{status_cells}</tr></tbody></table>"
        '<p class="caption">Counts are of trials (the latest attempt of each).</p></header>'
    )


def _objective_section(view: StudyView) -> str:
    done = completed(view.trials)
    head = "<section><h2>Objective by trial</h2>"
    if not done:
        return head + '<p class="notice">No completed trial yet.</p></section>'
    idx = [r.index for r in done]
    y = [float(r.objective) for r in done]  # type: ignore[arg-type]
    best = best_so_far(y, view.maximize)
    fig, ax = _figure(7.0, 3.6)
    ax.plot(idx, y, "o", color="#1f77b4", label="completed trial")
    ax.step(idx, best, where="post", color="#d62728", label="best so far")
    failed = [
        r.index
        for r in latest_attempts(view.trials)
        if r.status in (TrialStatus.FAILED, TrialStatus.ABANDONED)
    ]
    if failed:
        for k in failed:
            ax.axvline(k, color="#bbbbbb", lw=0.8, ls=":", zorder=0)
        ax.plot([], [], color="#bbbbbb", lw=0.8, ls=":", label="failed / abandoned")
    ax.set_xlabel("trial index")
    ax.set_ylabel(f"{view.objective} ({_direction(view)})")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    best_record = view.best_observed()
    assert best_record is not None
    caption = (
        f"Completed trials in index order; the line is the best {view.objective} so far. "
        f"Best observed: {_num(best_record.objective)} (trial {best_record.index})."
    )
    return head + _plot("plot-objective", fig, "objective by trial index", caption) + "</section>"


def _loo_section(fitted: FittedStudy) -> str:
    view = fitted.view
    head = "<section><h2>Predicted vs observed (leave-one-out)</h2>"
    diag: LOODiagnostics | None = fitted.loo()
    if diag is None:
        if len(fitted.y) < 3:
            kind = "target " if fitted.proxy_trials else ""
            why = (f"leave-one-out needs at least 3 completed {kind}trials, the study has "
                   f"{len(fitted.y)}")
        elif fitted.proxy_trials:
            why = (f"a refit of the multi-fidelity GP ({view.proxy_kernel}) without one target "
                   "trial failed")
        else:
            why = f"a refit of {view.surrogate!r} on all but one trial failed"
        notice = f'<p class="notice" id="loo-missing">No leave-one-out plot: {_esc(why)}.</p>'
        return head + notice + "</section>"
    indices = [r.index for r in completed(view.trials)]
    fig, ax = _figure(4.8, 4.4)
    ax.errorbar(
        fitted.y,
        diag.mean,
        yerr=Z90 * diag.std,
        fmt="o",
        ms=4,
        capsize=2,
        color="#1f77b4",
        ecolor="#9ecae1",
        label="LOO mean, 90% interval",
    )
    lo = float(min(np.min(fitted.y), np.min(diag.mean - Z90 * diag.std)))
    hi = float(max(np.max(fitted.y), np.max(diag.mean + Z90 * diag.std)))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    ax.plot(
        [lo - pad, hi + pad],
        [lo - pad, hi + pad],
        color="#888888",
        lw=1,
        ls="--",
        label="predicted = observed",
    )
    for k, x, m in zip(indices, fitted.y, diag.mean, strict=True):
        ax.annotate(
            str(k), (x, m), textcoords="offset points", xytext=(4, 3), fontsize=7, color="#555555"
        )
    ax.set_xlabel(f"observed {view.objective}")
    ax.set_ylabel(f"leave-one-out predicted {view.objective}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    closed_form = callable(getattr(fitted.model, "loo_predict", None))
    how = (
        "in closed form with the hyperparameters of the full fit (slightly optimistic)"
        if closed_form
        else "by refitting the surrogate without it"
    )
    caption = (
        f"Leave-one-out predictions: each completed trial (labelled by index) is predicted by "
        f"the {view.surrogate!r} surrogate fitted to the other trials ({how}); bars are 90% "
        "predictive intervals of a new observation."
    )
    return (
        head
        + _plot("plot-loo", fig, "leave-one-out predicted vs observed objective", caption)
        + f'<p id="loo-summary">{_esc(diag.summary())}</p></section>'
    )


def _effects_section(fitted: FittedStudy) -> str:
    view = fitted.view
    curves = effect_curves(fitted)
    rec = fitted.recommend().mixture
    fig, ax = _figure(7.0, 4.0)
    colors = _colors(len(view.domains))
    for (name, (w, mean, std)), color in zip(curves.items(), colors, strict=True):
        ax.plot(w, mean, color=color, label=name)
        ax.fill_between(w, mean - std, mean + std, color=color, alpha=0.15, lw=0)
        at = rec.get(name, 0.0)
        ax.plot([at], [np.interp(at, w, mean)], "o", color=color, ms=5)
    ax.set_xlabel("weight of the domain (the others in the recommendation's proportions)")
    ax.set_ylabel(f"predicted {view.objective}")
    ax.legend(loc="best", fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    caption = (
        "Per-domain effect: the predicted mean (line) ± one std (band) along the line from the "
        "recommended mixture (dots) to each domain's pure mixture, the other weights kept in "
        "their recommended proportions (Cox direction)."
    )
    return (
        "<section><h2>Effect of each domain</h2>"
        + _plot("plot-effects", fig, "per-domain effect curves", caption)
        + "</section>"
    )


def _interactions_section(fitted: FittedStudy) -> str:
    view = fitted.view
    d = len(view.domains)
    head = "<section><h2>Pairwise interactions</h2>"
    if d < 2:
        return head + '<p class="notice">One domain: no pairs.</p></section>'
    matrix = interaction_matrix(fitted)
    scale = float(np.max(np.abs(matrix))) or 1.0
    size = min(1.8 + 0.7 * d, 8.0)
    fig, ax = _figure(size + 1.2, size)
    # Blue is "the pair helps each other" in both directions of optimization.
    cmap = "RdBu" if view.maximize else "RdBu_r"
    image = ax.imshow(matrix, cmap=cmap, vmin=-scale, vmax=scale)
    ax.set_xticks(range(d), view.domains, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(d), view.domains, fontsize=8)
    for i in range(d):
        for j in range(d):
            if i == j:
                continue
            value = matrix[i, j]
            ax.text(
                j,
                i,
                f"{value:.3g}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if abs(value) > 0.6 * scale else "black",
            )
    fig.colorbar(image, ax=ax, shrink=0.8, label=f"interaction ({view.objective})")
    better = "positive" if view.maximize else "negative"
    caption = (
        "Predicted objective at the 50/50 blend of two domains minus the mean of their two pure "
        f"mixtures; {better} values (blue) mean the pair does better together than apart."
    )
    return (
        head
        + _plot("plot-interactions", fig, "pairwise interaction heatmap", caption)
        + "</section>"
    )


def _recommendation_section(view: StudyView, fitted: FittedStudy | None, why: str) -> str:
    best = view.best_observed()
    head = '<section id="recommendation"><h2>Recommendation</h2>'
    if fitted is None and best is None:
        return (
            head + '<p class="notice">No recommendation and no completed trial yet.</p></section>'
        )
    rec = fitted.recommend() if fitted is not None else None
    cols = ['<th class="text">domain</th>']
    if rec is not None:
        cols.append("<th>recommended</th>")
    if best is not None:
        cols.append(f"<th>best observed (trial {best.index})</th>")
    rows = []
    for name in view.domains:
        cells = [f'<td class="text">{_esc(name)}</td>']
        if rec is not None:
            w = rec.mixture.get(name, 0.0)
            cells.append(
                f'<td class="rec-weight" data-domain="{_esc(name)}" '
                f'data-weight="{w!r}">{w:.4f}</td>'
            )
        if best is not None:
            w = best.weights.get(name, 0.0)
            cells.append(f'<td class="best-weight" data-weight="{w!r}">{w:.4f}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cells = [f'<td class="text">{_esc(view.objective)}</td>']
    if rec is not None:
        cells.append(f'<td id="rec-predicted">{_num(rec.mean)} ± {_num(rec.std)} (predicted)</td>')
    if best is not None:
        cells.append(f"<td>{_num(best.objective)} (observed)</td>")
    rows.append('<tr class="objective">' + "".join(cells) + "</tr>")
    table = (
        f'<table id="table-recommendation"><thead><tr>{"".join(cols)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    if fitted is not None:
        note = (
            f"The mixture of best predicted mean under the {view.surrogate!r} surrogate fitted to "
            f"{len(fitted.y)} completed trial(s) (mean ± std of a new observation); the best "
            "observed trial is beside it."
        )
    else:
        note = f"No recommendation: {why}. The best observed trial is shown instead."
    return head + table + f'<p class="caption">{_esc(note)}</p></section>'


def _trials_section(view: StudyView) -> str:
    records = sorted(view.trials, key=lambda r: (r.index, r.attempt))
    head_cells = ["trial", "attempt", "status", "source"]
    head = "".join(f"<th>{_esc(h)}</th>" for h in head_cells)
    head += "".join(f"<th>w.{_esc(d)}</th>" for d in view.domains)
    head += f'<th>{_esc(view.objective)}</th><th class="text">reason</th>'
    body = "".join(_trial_row(view, r) for r in records)
    return (
        "<section><h2>All trials</h2>"
        f'<table id="table-trials"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        '<p class="caption">Every attempt of every trial (a failed trial may be retried as a '
        "new attempt under the same index).</p></section>"
    )


def _trial_row(view: StudyView, r: TrialRecord) -> str:
    cells = [
        f"<td>{r.index}</td>",
        f"<td>{r.attempt}</td>",
        f'<td class="text">{_esc(r.status.value)}</td>',
        f'<td class="text">{_esc(r.source)}</td>',
    ]
    cells += [f"<td>{r.weights.get(d, 0.0):.4f}</td>" for d in view.domains]
    cells.append(f"<td>{_num(r.objective) if r.objective is not None else ''}</td>")
    cells.append(f'<td class="text">{_esc(r.reason)}</td>')
    return (
        f'<tr class="trial status-{_esc(r.status.value)}" data-index="{r.index}" '
        f'data-attempt="{r.attempt}">' + "".join(cells) + "</tr>"
    )


# ---- helpers ---------------------------------------------------------------------------


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure on the Agg canvas (no pyplot: no global figure registry) and its axes."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _plot(plot_id: str, fig: Figure, alt: str, caption: str) -> str:
    """`fig` as a ``<figure>`` with an inline base64 PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'<figure class="plot" id="{plot_id}"><img alt="{_esc(alt)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{_esc(caption)}</figcaption></figure>'
    )


def _colors(n: int) -> Sequence[str]:
    palette = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    return [palette[i % len(palette)] for i in range(n)]


def _direction(view: StudyView) -> str:
    return "maximized" if view.maximize else "minimized"


def _num(value: float | None) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)
