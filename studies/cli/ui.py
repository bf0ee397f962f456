"""`mixopt ui`: the MLflow UI over the studies of a workdir (or named study configs).

One MLflow server, one worker (one user, one machine), bound to 127.0.0.1 unless told
otherwise, in a process group of its own: SIGTERM, SIGINT (Ctrl-C) or SIGHUP of `mixopt ui`
stop the whole server and free its port; a ``kill -9`` of `mixopt ui` sends the server SIGTERM
(Linux), which stops it too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from mixopt.errors import MixoptError

DEFAULT_EXPERIMENT = "mixopt-studies"  # studies.config.DEFAULT_EXPERIMENT (not imported: slow)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
READY_TIMEOUT_S = 180.0
STOP_GRACE_S = 10.0
# MLflow 3's UI opens on GenAI traces unless told that the experiment holds training runs;
# the shared view (studies.ui_view) opens the trials with objective and weights first.
VIEW = "#/experiments/{id}/runs?workflowType=machine_learning"
SHARED_VIEW = "&viewStateShareKey={key}"


class _Stop(Exception):
    """A stop signal reached `mixopt ui`."""


def stores_of(targets: list[str]) -> dict[str, list[str]]:
    """The tracking URIs of `targets` (workdirs or study configs), each with what named it.

    A workdir gives its shared store (``<workdir>/mlflow.db``) and the stores of its studies
    that have their own (from an earlier version).

    Raises:
        MixoptError: a target that is neither, a workdir with no store.
        StudyConfigError: a study config with errors.
    """
    from studies.store_location import STORE_FILE, sqlite_uri

    found: dict[str, list[str]] = {}
    for target in targets:
        path = Path(target)
        if path.is_dir():
            dbs = [p for p in (path / STORE_FILE, *sorted(path.glob(f"*/{STORE_FILE}")))
                   if p.is_file()]
            if not dbs:
                raise MixoptError(f"{path}: no MLflow store here (no {path / STORE_FILE}); "
                                  "run a study with this workdir first")
            for db in dbs:
                found.setdefault(sqlite_uri(db), []).append(target)
        elif path.suffix in (".yaml", ".yml"):
            if not path.is_file():
                raise MixoptError(f"{path}: no such study file")
            from studies.config import load_study_config

            found.setdefault(load_study_config(path).tracking_uri, []).append(target)
        else:
            raise MixoptError(f"{target}: neither a workdir (folder) nor a study config (.yaml)")
    return found


def choose_store(targets: list[str], tracking_uri: str | None) -> str:
    """The one tracking URI to serve.

    Raises:
        MixoptError: targets and ``--tracking-uri`` both, nothing to open, or studies in
            more than one store (one MLflow server serves one store).
    """
    if tracking_uri is not None:
        if targets:
            raise MixoptError("give a workdir or study configs, or --tracking-uri, not both")
        return tracking_uri
    if not targets:
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        if not Path("runs").is_dir():
            raise MixoptError("give a workdir, study configs or --tracking-uri (no ./runs here)")
        targets = ["runs"]
    found = stores_of(targets)
    if len(found) > 1:
        listed = "; ".join(f"{uri} ({', '.join(names)})" for uri, names in found.items())
        raise MixoptError(f"these studies are in {len(found)} MLflow stores and one UI shows "
                          f"one: {listed}; open one of them with --tracking-uri")
    return next(iter(found))


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def server_command(uri: str, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
            "--host", host, "--port", str(port), "--workers", "1"]


def ui(
    targets: Annotated[list[str] | None, typer.Argument(
        help="A workdir (its studies share one store) or study configs (.yaml); default: "
        "./runs, or $MLFLOW_TRACKING_URI.", show_default=False)] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        help="MLflow tracking URI to open instead.")] = None,
    experiment: Annotated[str, typer.Option(help="Experiment to open on.")] = DEFAULT_EXPERIMENT,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the command only.")] =
    False,
) -> None:
    """The MLflow UI of studies: their parent runs with the trials nested, in one store."""
    uri = choose_store(list(targets or []), tracking_uri)
    cmd = server_command(uri, host, port)
    typer.echo(" ".join(cmd))
    if dry_run:
        return
    if host not in ("127.0.0.1", "localhost"):
        typer.secho(f"warning: binding {host} exposes the UI beyond this machine", err=True,
                    fg=typer.colors.YELLOW)
    if not port_free(host, port):
        raise MixoptError(f"port {port} on {host} is taken (another `mixopt ui`?); "
                          "give --port")
    serve(cmd, f"http://{host}:{port}", uri, experiment)


def serve(cmd: list[str], url: str, uri: str, experiment: str) -> None:
    """Run the server in its own process group until it exits or a stop signal comes."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    from studies.trial_process import _die_with_this_process

    # Its own process group, to stop it whole; SIGTERM to it if `mixopt ui` is killed -9.
    server = subprocess.Popen(cmd, env=env, start_new_session=True,
                              preexec_fn=_die_with_this_process())
    typer.echo(f"MLflow server pid {server.pid} (process group {server.pid}); stop with Ctrl-C")
    try:
        if _wait_ready(server, url):
            typer.echo(f"ready: {url}/{opening_view(uri, experiment)}")
        server.wait()
    except _Stop as why:
        typer.echo(f"stopping the MLflow server ({why})", err=True)
    finally:
        _stop_group(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if server.returncode not in (0, -signal.SIGTERM, None):
        raise MixoptError(f"the MLflow server exited with code {server.returncode}")


def _wait_ready(server: subprocess.Popen, url: str) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


def opening_view(uri: str, experiment: str) -> str:
    """The UI address (after the host) of `experiment` in a sqlite store, with the studies'
    shared view where the store has one (read directly: no MLflow import); the experiment
    ``0`` (MLflow's default) when it is not there or the store is a server."""
    import sqlite3
    from contextlib import closing

    from studies.store_location import sqlite_path
    from studies.ui_view import VIEW_KEY, VIEW_TAG

    db = sqlite_path(uri)
    row, shared = None, None
    if db is not None:
        try:
            with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                row = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?",
                                   (experiment,)).fetchone()
                if row is not None:
                    shared = conn.execute(
                        "SELECT 1 FROM experiment_tags WHERE experiment_id = ? AND key = ?",
                        (row[0], VIEW_TAG)).fetchone()
        except sqlite3.Error:
            row = None
    view = VIEW.format(id="0" if row is None else row[0])
    return view + (SHARED_VIEW.format(key=VIEW_KEY) if shared else "")


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM to the server's whole process group, SIGKILL to what is left after a grace."""
    for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            server.poll()
            try:
                os.killpg(server.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    server.poll()
