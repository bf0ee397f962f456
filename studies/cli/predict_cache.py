"""`study predict`'s results kept in the study's folder, keyed by what they depend on.

Fitting the surrogate, its leave-one-out refits and the top-K search take seconds (and the
import of torch/BoTorch more); the same trials give the same answer. The key is a hash of the
completed trials (mixtures and objective values), the study's surrogate settings, ``--top``,
the source of the code that computes the answer and the versions of the libraries it uses: a
new trial, another setting or changed code computes afresh. Files live in
``<study_dir>/cache/`` (safe to delete); a damaged one is ignored and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studies.analysis import StudyView

SCHEMA = 2
CACHE_DIR = "cache"
KEEP = 8  # newest entries kept per study
_ROOT = Path(__file__).resolve().parents[2]
# The code whose change changes the answer (relative to the repository root).
_SOURCES = ("mixopt/surrogates", "mixopt/simplex.py", "mixopt/mixture.py", "studies/analysis.py",
            "studies/cli/predict_cache.py")
_LIBRARIES = ("numpy", "scipy", "torch", "gpytorch", "botorch")


def code_fingerprint(sources: tuple[str, ...] = _SOURCES,
                     libraries: tuple[str, ...] = _LIBRARIES) -> str:
    """A hash of the `sources` (files, or folders of ``*.py`` files, relative to the
    repository root) and of the installed versions of `libraries`."""
    digest = hashlib.sha256()
    for name in sources:
        path = _ROOT / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(_ROOT).as_posix().encode())
            digest.update(file.read_bytes() if file.is_file() else b"")
    for lib in libraries:
        try:
            digest.update(f"{lib}={metadata.version(lib)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{lib}=none".encode())
    return digest.hexdigest()


def cache_key(view: StudyView, top: int) -> str:
    """The hash of everything `study predict --top top` depends on."""
    X, y = view.observations()
    proxies = None
    if view.proxy_kernel:  # a proxy study's fit reads its proxy trials too (studies.proxy_fit)
        from studies.proxy_fit import proxy_history

        proxies = [dict(view.proxy_costs), view.proxy_kernel,
                   [[o.x.tolist(), o.values, o.fidelity] for o in
                    proxy_history(view).observations]]
    inputs = {
        "schema": SCHEMA, "top": top, "domains": list(view.domains),
        "objective": view.objective, "maximize": view.maximize, "surrogate": view.surrogate,
        "options": dict(view.surrogate_options), "bounds": dict(view.bounds), "seed": view.seed,
        "X": X.tolist(), "y": y.tolist(), "code": code_fingerprint(),
        "proxies": proxies,
    }
    text = json.dumps(inputs, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load(study_dir: Path, key: str) -> dict[str, Any] | None:
    """The cached answer of `key`, or None (absent, unreadable or of another schema)."""
    try:
        data = json.loads((study_dir / CACHE_DIR / f"predict-{key}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def save(study_dir: Path, key: str, answer: dict[str, Any]) -> None:
    """Keep `answer` under `key` (written whole or not at all); drops old entries beyond
    `KEEP`. A folder that cannot be written is no error: the answer is just not kept."""
    folder = study_dir / CACHE_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".predict-{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({**answer, "schema": SCHEMA}), encoding="utf-8")
        os.replace(tmp, folder / f"predict-{key}.json")
        entries = sorted(folder.glob("predict-*.json"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        return


def compute(view: StudyView, top: int) -> dict[str, Any]:
    """`study predict`'s answer: ``{"trials" (target trials), "proxy_trials" (fitted too:
    `studies.proxy_fit`), "top": [Predicted.to_json()], "loo": {...} or None, "loo_summary":
    str or None}`` (LOO needs 3 target trials).

    Raises:
        FitError: fewer completed trials than the surrogate needs, or a failed fit.
    """
    from mixopt.threads import torch_threads
    from studies.analysis import fit_study
    from studies.cli.loo_figures import loo_json

    with torch_threads(1):
        fitted = fit_study(view)
        tops = fitted.top_k(top)
        diag = fitted.loo()
    n = len(fitted.y)
    return {"trials": n, "proxy_trials": fitted.proxy_trials, "top": [p.to_json() for p in tops],
            "loo": None if diag is None else loo_json(diag, n),
            "loo_summary": None if diag is None else diag.summary(unit="trials")}
