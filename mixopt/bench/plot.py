"""Plot of a benchmark: median normalized regret against trials, with inter-quartile bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mixopt.bench.harness import BenchResult


def save_regret_plot(result: BenchResult, path: str | Path, *, oracle: str | None = None) -> Path:
    """Write a PNG of median normalized regret (%) vs trials, one line per strategy.

    `oracle` restricts to one oracle; by default runs are pooled over all of them.
    Returns the path written.
    """
    # The Agg canvas is used directly: no pyplot, so no global backend or figure state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7.0, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    k = np.arange(1, result.trials + 1)
    for strategy in result.strategies:
        s = result.summary(strategy, oracle)
        median = 100 * np.asarray(s["median_normalized_regret"])
        (line,) = ax.plot(k, median, label=strategy, linewidth=1.8)
        ax.fill_between(k, 100 * np.asarray(s["q25_normalized_regret"]),
                        100 * np.asarray(s["q75_normalized_regret"]),
                        color=line.get_color(), alpha=0.18, linewidth=0)
    where = oracle or ", ".join(result.oracles)
    ax.set_title(f"{where}: {result.seeds} seeds, noise sd {result.noise_sd:g}, "
                 f"batch {result.batch_size}", fontsize=9)
    ax.set_xlabel("trials (training runs)")
    ax.set_ylabel("regret / range of the oracle (%), median and IQR")
    ax.set_xlim(1, max(result.trials, 2))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    return path
