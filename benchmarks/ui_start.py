"""Time `mixopt ui` over a workdir of two studies: until the UI answers, its processes and
memory, and until SIGTERM has stopped all of them.

Usage: ``python benchmarks/ui_start.py [--repeats 3] [--out ui_start.json]``.

Runs two function studies (3 trials each) into one temporary workdir, then starts
``mixopt ui WORKDIR`` ``--repeats`` times as a fresh process: seconds until it prints
``ready:`` (the server answers ``/health``), the number of processes of the server's process
group and their summed RSS, then seconds from SIGTERM to `mixopt ui` until none of that group
is left and the port is free. Prints one JSON object (min and median of each, the 1-minute load
average before and after: a shared machine), also written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _group(pgid: int) -> list[int]:
    done = subprocess.run(["ps", "-o", "pid=", "-g", str(pgid)], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def one_start(workdir: Path) -> dict[str, float]:
    port = _free_port()
    started = time.perf_counter()
    ui = subprocess.Popen([sys.executable, "-m", "studies.cli", "ui", str(workdir),
                           "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    pgid = None
    for line in ui.stdout:
        if line.startswith("MLflow server pid"):
            pgid = int(line.split()[3])
        if line.startswith("ready:"):
            break
    ready_s = time.perf_counter() - started
    if pgid is None:
        raise SystemExit("mixopt ui did not start its server")
    pids = _group(pgid)
    rss = _rss_mib(pids)
    stop = time.perf_counter()
    ui.send_signal(signal.SIGTERM)
    ui.wait(timeout=60)
    while _group(pgid):
        time.sleep(0.05)
    stopped_s = time.perf_counter() - stop
    with socket.socket() as sock:
        port_free = sock.connect_ex(("127.0.0.1", port)) != 0
    return {"ready_s": ready_s, "processes": len(pids), "rss_mib": rss,
            "stop_s": stopped_s, "port_free": port_free}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("ui_start.json"))
    args = parser.parse_args()
    os.environ["MIXOPT_TEST_DELAY"] = "0"
    from studies.config import load_study_config
    from studies.driver import run_study
    from tests.studies.study_files import two_function_studies

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for path in two_function_studies(Path(tmp), max_trials=3, parallelism=1):
            run_study(load_study_config(path), poll_interval_s=0.01)
        runs = [one_start(Path(tmp) / "runs") for _ in range(args.repeats)]
    result: dict[str, object] = {"repeats": args.repeats, "cpus": os.cpu_count(),
                                 "load_1min_before": load_before,
                                 "load_1min_after": os.getloadavg()[0],
                                 "port_freed_every_time": all(r["port_free"] for r in runs)}
    for key in ("ready_s", "processes", "rss_mib", "stop_s"):
        values = [float(r[key]) for r in runs]
        result[key] = {"min": round(min(values), 2), "median": round(statistics.median(values), 2)}
    text = json.dumps(result, indent=2)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
