"""`mixopt ui`: two studies of one workdir in one MLflow UI, and a server that stops with it.

Real processes: `mixopt ui` starts a real MLflow server over a real store of two function
studies; a headless chromium finds both studies' trials on the page that `mixopt ui` prints.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from studies.cli import app
from studies.cli.ui import choose_store
from studies.config import load_study_config
from studies.driver import run_study
from studies.store_location import own_store, sqlite_uri
from studies.ui_view import merged_view
from tests.studies.study_files import function_study, two_function_studies

REPO = Path(__file__).resolve().parents[2]
TRIALS = 3


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A workdir holding studies ``unit`` and ``other``, 3 completed trials each."""
    tmp_path = tmp_path_factory.mktemp("ui")
    os.environ["MIXOPT_TEST_DELAY"] = "0"
    try:
        for path in two_function_studies(tmp_path, max_trials=TRIALS, parallelism=1):
            run_study(load_study_config(path), poll_interval_s=0.01)
    finally:
        del os.environ["MIXOPT_TEST_DELAY"]
    return tmp_path / "runs"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Ui:
    """A `mixopt ui` process and the lines it printed."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "studies.cli", "ui", str(workdir), "--port", str(self.port)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"})
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def line(self, prefix: str, timeout_s: float = 240.0) -> str:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            found = [line for line in self.lines if line.startswith(prefix)]
            if found:
                return found[0]
            assert self.process.poll() is None, "\n".join(self.lines[-40:])
            time.sleep(0.2)
        raise AssertionError(f"no {prefix!r} line in {timeout_s} s: " + "\n".join(self.lines))

    def server_group(self) -> int:
        return int(self.line("MLflow server pid").split()[3])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_ui_stops_the_whole_server_on_a_signal(workdir, sig):
    ui = Ui(workdir)
    try:
        ready = ui.line("ready: ")
        group = ui.server_group()
        assert f"http://127.0.0.1:{ui.port}/" in ready  # bound to this machine only
        body = json.dumps({"experiment_ids": [ready.split("/experiments/")[1].split("/")[0]],
                           "max_results": 100}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{ui.port}/api/2.0/mlflow/runs/search", data=body,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            names = {r["info"]["run_name"] for r in json.load(answer)["runs"]}
        assert {"unit/trial-000", "other/trial-000"} <= names  # one store, both studies
        ui.process.send_signal(sig)
        ui.process.wait(timeout=60)
        deadline = time.time() + 30  # after a kill -9 the server stops on its own SIGTERM
        while sig == signal.SIGKILL and _group_alive(group) and time.time() < deadline:
            time.sleep(0.2)
        assert not _group_alive(group), f"the server's processes outlived `mixopt ui` ({sig})"
        assert not _port_taken(ui.port)
    finally:
        ui.close()


def test_browser_finds_the_trials_of_both_studies(workdir, browser):
    ui = Ui(workdir)
    try:
        url = ui.line("ready: ").removeprefix("ready: ")
        assert "viewStateShareKey=" in url and "workflowType=machine_learning" in url
        browser.get(url)
        wanted = [f"{study}/trial-{i:03d}" for study in ("unit", "other") for i in range(TRIALS)]
        deadline = time.time() + 120
        text = ""
        while time.time() < deadline:
            text = browser.find_element("tag name", "body").text
            if all(name in text for name in wanted) and "matching runs" in text:
                break
            time.sleep(1)
        missing = [name for name in wanted if name not in text]
        assert not missing, f"not on the page: {missing}\n{text[:3000]}"
        # The runs table of the trials only (not GenAI traces), objective and weights shown.
        assert f"{len(wanted)} matching runs" in text, text[:3000]
        assert "w.alpha" in text and "objective" in text
    finally:
        ui.close()


def test_ui_refuses_studies_of_two_stores(tmp_path):
    config = load_study_config(function_study(tmp_path))
    shared = config.workdir / "mlflow.db"
    own = own_store(config.workdir, "legacy")
    for db in (shared, own):
        db.parent.mkdir(parents=True, exist_ok=True)
        db.touch()
    with pytest.raises(Exception, match="2 MLflow stores"):
        choose_store([str(config.workdir)], None)
    assert choose_store([str(tmp_path / "study.yaml")], None) == sqlite_uri(shared)
    result = CliRunner().invoke(app, ["ui", str(tmp_path / "nothing-here")])
    assert result.exit_code != 0 and "neither a workdir" in str(result.exception)


def test_opening_view_puts_objective_and_weights_first():
    view = merged_view(None, ["alpha", "beta"], "objective")
    assert view["selectedColumns"] == ["metrics.`objective`", "params.`w.alpha`",
                                       "params.`w.beta`"]
    assert view["searchFilter"] == "tags.`mixopt.role` = 'trial'"
    again = merged_view(json.dumps(view), ["beta", "gamma"], "objective")
    assert again["selectedColumns"] == ["metrics.`objective`", "params.`w.alpha`",
                                        "params.`w.beta`", "params.`w.gamma`"]
    assert merged_view("not json", ["a"], "objective")["selectedColumns"] == [
        "metrics.`objective`", "params.`w.a`"]
