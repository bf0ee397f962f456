"""mf-bo on RegMix (target 60M, proxies 1M) beside gp-bo's regret after 12 target runs.

Usage: ``python benchmarks/regmix_mf.py [--strategies mf-bo,...] [--seeds 10] [--budget 4]
[--data ../shared/data/regmix] [--gp-bo docs/bench/table_regmix_60m_gpbo_random.json]
[--proxy-cost 0.05] [--out docs/bench/regmix_mf.json]``.

Runs `run_table_benchmark` on ``regmix_multifidelity.csv`` (``model`` 1m/60m, cost column
``relative_cost``: 1M = 1/60 of a 60M run, the README's assumption), objective
``neg_pile_cc_loss``, and writes its JSON (every run) plus a ``comparison`` entry: per
strategy, median and IQR of the regret at cost 1..B, mean 60M runs and proxies observed, and
whether the median at cost B is at or below gp-bo's median after 12 target runs (read from
the `--gp-bo` JSON, a 60M-only table benchmark). Prints the comparison as one JSON object.
`--proxy-cost` runs on a copy of the table (in a temporary folder) whose 1M rows cost that
fraction of a 60M run instead: the cost ratio is an assumption, so its sensitivity is measured.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mixopt.bench.tables import TableSettings, run_table_benchmark

TABLE = "regmix_multifidelity.csv"
COLUMN = "neg_pile_cc_loss"
GP_BO_TRIALS = 12


def gp_bo_reference(path: Path) -> dict[str, Any]:
    """gp-bo's median and IQR of regret after `GP_BO_TRIALS` target runs from `path`."""
    result = json.loads(path.read_text())["results"]["gp-bo"]
    i = GP_BO_TRIALS - 1
    return {"file": str(path), "median": result["median_regret_at_cost"][i],
            "q25": result["q25_regret_at_cost"][i], "q75": result["q75_regret_at_cost"][i],
            "runs": result["n_runs"]}


def with_proxy_cost(source: Path, cost: float, folder: Path) -> Path:
    """A copy of the table `source` in `folder` whose 1M rows' ``relative_cost`` is `cost`."""
    with open(source, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    path = folder / source.name
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "relative_cost": row["relative_cost"] if row["model"] == "60m"
                             else repr(cost)})
    return path


def compare(result: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """Per strategy: regret at each cost (median, IQR), spend, and the target's verdict."""
    out: dict[str, Any] = {}
    for name, res in result["results"].items():
        runs = [r for r in result["runs"] if r["strategy"] == name]
        median = res["median_regret_at_cost"]
        out[name] = {
            "median_regret_at_cost": median, "q25_regret_at_cost": res["q25_regret_at_cost"],
            "q75_regret_at_cost": res["q75_regret_at_cost"],
            "mean_target_runs": float(np.mean([r["target_runs"] for r in runs])),
            "mean_proxies": float(np.mean([r["observed"] - r["target_runs"] for r in runs])),
            "target_met": median[-1] is not None and median[-1] <= reference["median"] + 1e-12,
            "wall_s": res["wall_s"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default="mf-bo")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=4, help="target-run equivalents")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/regmix"))
    parser.add_argument("--gp-bo", type=Path,
                        default=Path("docs/bench/table_regmix_60m_gpbo_random.json"))
    parser.add_argument("--proxy-cost", type=float,
                        help="cost of a 1M run in 60M runs (default: the table's, 1/60)")
    parser.add_argument("--out", type=Path, help="write the full JSON here")
    args = parser.parse_args()
    if args.proxy_cost is not None and not 0 < args.proxy_cost < 1:
        parser.error(f"--proxy-cost must lie in (0, 1), got {args.proxy_cost}")
    reference = gp_bo_reference(args.gp_bo)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        table = args.data / TABLE if args.proxy_cost is None else \
            with_proxy_cost(args.data / TABLE, args.proxy_cost, Path(tmp))
        result = run_table_benchmark(
            f"table:{table}#{COLUMN}", args.strategies.split(","), args.budget, args.seeds,
            table=TableSettings("model", "60m", "relative_cost"), jobs=args.jobs)
    summary = {"gp_bo_after_12": reference, "budget": args.budget, "seeds": args.seeds,
               "proxy_cost": args.proxy_cost,
               "wall_s": round(time.perf_counter() - started, 1),
               "load_average_end": os.getloadavg(), "machine": result["metadata"]["machine"],
               "strategies": compare(result, reference)}
    result["comparison"] = summary
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
