"""Time the `mixopt` commands a user types most: help, a config error, status, predict, report.

Usage: ``python benchmarks/cli_latency.py [--trials 20] [--repeats 3] [--out cli_latency.json]``.

Builds a finished study once: the known-surface example (studies/examples/known_surface.yaml,
function launcher) run as shipped (its run time is reported: the "example" figure), then a copy
of it with ``max_trials`` = ``--trials`` that the commands look into (``--example-repeats``
times the shipped example, for its min and median). Each command runs ``--repeats`` times as a
fresh process (the `mixopt` console script beside this Python), the commands interleaved
round by round so that a burst of load elsewhere does not fall on one command only; the min
and the median wall time are reported with the target (issue 15 item 12, issue 16 section 2)
and the 1-minute load average before and after (a shared machine: compare the min), and
whether each cached predict found the fresh one's answer (``predict_cached_hits``: a change to
the code the cache key covers, mid-run, makes it recompute), and likewise each cached report
the fresh report's page (``report_cached_hits``; a tree without the report cache: all false).
``PYTHONPATH=<a copy of a tree>`` times that tree. Prints one JSON object, also written to
``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "studies" / "examples" / "known_surface.yaml"
# Targets in seconds, on 2 cores (issue 16 section 2).
# CPU seconds of each `timed` run, in order: on a loaded machine the wall time of a
# single-threaded command grows with the load, its CPU time much less (it is what the command
# would take on an idle core).
CPU_SECONDS: list[float] = []
EXAMPLE_CPU: list[float] = []  # those of the shipped example's runs
TARGETS = {"help": 1.5, "config_error": 1.5, "status": 3.0, "predict": 10.0,
           "predict_cached": 10.0, "report": 10.0, "report_cached": 10.0}


def mixopt_command() -> list[str]:
    """The `mixopt` console script of this environment, or ``python -m studies.cli``."""
    script = Path(sys.executable).with_name("mixopt")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "studies.cli"]


def timed(cmd: list[str], *, expect: int) -> float:
    """Wall seconds of one run of `cmd` as a subprocess; exits if its code is not `expect`.
    Its CPU seconds (user + system) are appended to `CPU_SECONDS`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU_SECONDS.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}, expected {expect}\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall


def build_studies(folder: Path, trials: int, example_repeats: int = 1
                  ) -> tuple[list[float], Path, Path]:
    """Run the example as shipped (`example_repeats` times, each in a new workdir), then a
    `trials`-trial copy of it.

    Returns (seconds of each run of the shipped example, the copy's config, its workdir).
    """
    mixopt = mixopt_command()
    example_s = [timed([*mixopt, "study", "run", str(EXAMPLE), "--workdir",
                        str(folder / f"example{i}")], expect=0) for i in range(example_repeats)]
    EXAMPLE_CPU.extend(CPU_SECONDS[-example_repeats:])
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    config["search"]["max_trials"] = trials
    copy = folder / "known_surface_long.yaml"
    copy.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    workdir = folder / "long"
    timed([*mixopt, "study", "run", str(copy), "--workdir", str(workdir)], expect=0)
    return example_s, copy, workdir


def commands(config: Path, workdir: Path, folder: Path) -> dict[str, tuple[list[str], int]]:
    """Name -> (argv, expected exit code) of each timed command."""
    bad = folder / "bad.yaml"
    bad.write_text("name: bad\ndomains: [a]\nsearch: {max_trials: -1}\nlauncher: {kind: nope}\n",
                   encoding="utf-8")
    study = [str(config), "--workdir", str(workdir)]
    return {
        "help": (["--help"], 0),
        "config_error": (["study", "run", str(bad)], 2),
        "status": (["study", "status", *study], 0),
        "predict": (["study", "predict", *study], 0),  # its cache removed before (fresh)
        "predict_cached": (["study", "predict", *study], 0),  # answered from that cache
        # its kept page removed before (drawn afresh), then drawn from that page
        "report": (["study", "report", *study, "--out", str(folder / "report.html")], 0),
        "report_cached": (["study", "report", *study, "--out", str(folder / "again.html")], 0),
    }


def cache_entries(workdir: Path, pattern: str = "predict-*.json") -> set[str]:
    """The predict answers (or, with `pattern` ``report-*.html``, the report pages) kept in
    the studies' folders of `workdir` (file names)."""
    return {p.name for p in workdir.glob(f"*/cache/{pattern}")}


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "load_average_1m_before": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials of the inspected study")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs per command; min and median shown")
    parser.add_argument("--example-repeats", type=int, default=1,
                        help="runs of the shipped example study")
    parser.add_argument("--out", type=Path, default=Path("cli_latency.json"),
                        help="JSON file to write")
    args = parser.parse_args()
    info = machine()
    folder = Path(tempfile.mkdtemp(prefix="cli_latency_"))
    try:
        example_s, config, workdir = build_studies(folder, args.trials, args.example_repeats)
        mixopt = mixopt_command()
        todo = commands(config, workdir, folder)
        runs: dict[str, list[float]] = {name: [] for name in todo}
        cpu: dict[str, list[float]] = {name: [] for name in todo}
        cache_hits: list[bool] = []  # whether each predict_cached run found predict's answer
        report_hits: list[bool] = []  # whether each report_cached run found report's page
        for _ in range(args.repeats):  # round by round: load bursts spread over commands
            for name, (argv, expect) in todo.items():
                if name == "predict":  # studies/cli/predict_cache.py: compute afresh
                    for cache in workdir.glob("*/cache"):
                        shutil.rmtree(cache)
                if name == "report":  # studies/cli/report_cache.py: draw afresh
                    for page in workdir.glob("*/cache/report-*.html"):
                        page.unlink()
                kept = cache_entries(workdir)
                pages = cache_entries(workdir, "report-*.html")
                runs[name].append(timed([*mixopt, *argv], expect=expect))
                cpu[name].append(CPU_SECONDS[-1])
                if name == "predict_cached":  # a miss (the code changed meanwhile) adds one
                    cache_hits.append(cache_entries(workdir) == kept)
                if name == "report_cached":  # a hit: a page was kept, none added
                    now = cache_entries(workdir, "report-*.html")
                    report_hits.append(bool(pages) and now == pages)
        results = {}
        for name, (argv, _) in todo.items():
            median = statistics.median(runs[name])
            results[name] = {
                "command": "mixopt " + " ".join(argv).replace(str(folder), "<tmp>"),
                "runs_s": [round(r, 2) for r in runs[name]], "min_s": round(min(runs[name]), 2),
                "median_s": round(median, 2), "target_s": TARGETS[name],
                "median_meets_target": median < TARGETS[name],
                "min_meets_target": min(runs[name]) < TARGETS[name],
                "cpu_s": [round(c, 2) for c in cpu[name]],
                "cpu_median_s": round(statistics.median(cpu[name]), 2),
            }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report = {
        "machine": {**info, "load_average_1m_after": round(os.getloadavg()[0], 2)},
        "example_runs_s": [round(t, 1) for t in example_s],
        "example_min_s": round(min(example_s), 1),
        "example_median_s": round(statistics.median(example_s), 1),
        "example_cpu_s": [round(c, 1) for c in EXAMPLE_CPU],
        "example_trials": yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["search"][
            "max_trials"],
        "inspected_trials": args.trials, "repeats": args.repeats, "commands": results,
        "predict_cached_hits": cache_hits, "report_cached_hits": report_hits,
    }
    text = json.dumps(report, indent=2)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
