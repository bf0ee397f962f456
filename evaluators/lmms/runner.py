"""Running lmms-eval in a subprocess for a checkpoint and reading back its scores.

lmms-eval catches its own errors, prints them and still exits 0 without writing a results
file; so a run only counts when it exits 0 *and* leaves a new results file holding every task.
Its output goes to ``lmms_eval.stdout.log`` / ``lmms_eval.stderr.log`` in the output folder;
only the stderr tail is quoted in error messages, nothing is parsed from it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from evaluators.lmms.command import DEFAULT_MODEL, ArgValue, build_command
from evaluators.lmms.errors import LmmsEvalRunError
from evaluators.lmms.install import lmms_eval_location
from evaluators.lmms.mathvista import Extraction, check_extraction
from evaluators.lmms.registry import LmmsBenchmark, resolve_lmms_benchmarks
from evaluators.lmms.results import find_results_file, parse_results
from evaluators.result import BenchmarkScore

STDOUT_LOG = "lmms_eval.stdout.log"
STDERR_LOG = "lmms_eval.stderr.log"
TAIL_LINES = 5


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run_lmms_eval(
    checkpoint: str | Path,
    tasks: Sequence[str],
    *,
    output_path: str | Path,
    limit: int | None = None,
    batch_size: int = 1,
    model: str = DEFAULT_MODEL,
    model_args: Mapping[str, ArgValue] | None = None,
    log_samples: bool = False,
    include_path: str | Path | None = None,
    timeout_s: float | None = None,
    extra_env: Mapping[str, str] | None = None,
    launcher: Sequence[str] | None = None,
) -> Path:
    """Run lmms-eval on ``tasks`` and return the results file it wrote.

    ``launcher`` replaces ``python -m lmms_eval`` (tests, other interpreters); with the
    default one lmms-eval must be importable here. Other arguments: see `build_command`.

    Raises:
        LmmsEvalNotInstalledError: the default launcher and no lmms-eval.
        LmmsEvalRunError: it could not start, timed out, exited non-zero, or wrote no new
            results file.
    """
    if launcher is None:
        lmms_eval_location()
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    argv = build_command(
        checkpoint, tasks, output_path=out, limit=limit, batch_size=batch_size, model=model,
        model_args=model_args, log_samples=log_samples, include_path=include_path,
        launcher=launcher,
    )
    env = {**os.environ, **(extra_env or {})}
    started = time.time() - 1.0  # file mtimes can be coarser than time.time()
    stderr_log = out / STDERR_LOG
    try:
        with open(out / STDOUT_LOG, "wb") as stdout, open(stderr_log, "wb") as stderr:
            done = subprocess.run(
                argv, stdout=stdout, stderr=stderr, env=env, timeout=timeout_s, check=False
            )
    except subprocess.TimeoutExpired:
        raise LmmsEvalRunError(
            f"lmms-eval ran past {timeout_s} s on {', '.join(tasks)}; log: {stderr_log}"
        ) from None
    except OSError as error:
        raise LmmsEvalRunError(f"lmms-eval could not start ({argv[0]}): {error}") from None
    if done.returncode != 0:
        raise LmmsEvalRunError(
            f"lmms-eval exited with code {done.returncode} on {', '.join(tasks)}: "
            f"{_tail(stderr_log) or '(no stderr)'}; log: {stderr_log}"
        )
    try:
        return find_results_file(out, newer_than=started)
    except LmmsEvalRunError:
        raise LmmsEvalRunError(
            f"lmms-eval exited 0 but wrote no results file under {out} (it reports its own "
            f"errors that way): {_tail(stderr_log) or '(no stderr)'}; log: {stderr_log}"
        ) from None


def evaluate_lmms(
    checkpoint: str | Path,
    names: Sequence[str],
    *,
    output_path: str | Path,
    mathvista_extraction: Extraction = "rule",
    limit: int | None = None,
    batch_size: int = 1,
    model: str = DEFAULT_MODEL,
    model_args: Mapping[str, ArgValue] | None = None,
    log_samples: bool = False,
    tasks: Sequence[LmmsBenchmark] = (),
    include_path: str | Path | None = None,
    timeout_s: float | None = None,
    extra_env: Mapping[str, str] | None = None,
    launcher: Sequence[str] | None = None,
) -> dict[str, BenchmarkScore]:
    """Score ``checkpoint`` on out-of-domain benchmarks (``chartqa``, ``mathvista``, ...)
    through one lmms-eval run; benchmark name -> score (kind ``out_of_domain``).

    With ``mathvista`` and the default launcher, the installed lmms-eval must extract MathVista
    answers the ``mathvista_extraction`` way (`check_extraction`) before anything runs.
    ``tasks``: user tasks (`parse_lmms_task`) that ``names`` may name besides the reference's
    four; ``include_path``: the folder of their YAMLs when lmms-eval does not ship them.

    Raises:
        UnknownBenchmarkError: bad names (checked first).
        LmmsEvalNotInstalledError, MathVistaExtractionError, LmmsEvalRunError,
        LmmsResultsError: see `run_lmms_eval`, `check_extraction`, `parse_results`.
    """
    benchmarks = resolve_lmms_benchmarks(names, tasks)
    if launcher is None:
        root = lmms_eval_location()
        if any(b.name == "mathvista" for b in benchmarks):
            check_extraction(mathvista_extraction, root)
    path = run_lmms_eval(
        checkpoint, [b.task for b in benchmarks], output_path=output_path, limit=limit,
        batch_size=batch_size, model=model, model_args=model_args, log_samples=log_samples,
        include_path=include_path, timeout_s=timeout_s, extra_env=extra_env, launcher=launcher,
    )
    return parse_results(path, benchmarks)
