"""Publishing one trial's checkpoint to the Hugging Face hub, with a model card.

The card (``README.md``) says which study and trial the checkpoint comes from, its mixture,
its metrics, the best trial of the study for context, and how it was trained. The user's
checkpoint folder is never written to: the upload is made from a staging folder of links to
its files plus the card.
"""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mixopt.errors import MixoptError
from studies.analysis import StudyView
from studies.trials import TrialRecord, TrialStatus, completed, latest_attempts

# ORG/NAME: letters, digits, '-', '_', '.'; neither part starts or ends with '-' or '.'.
_PART = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
REPO_ID = re.compile(rf"^{_PART}/{_PART}$")
REPO_NAME_MAX = 96  # the hub's limit on each part of a repo id
CARD_TAGS = ("mixopt", "grpo", "rlvr", "data-mixture")
CARD_FILE = "README.md"

SOURCES = {
    "design": "the study's initial space-filling design",
    "proposal": "the acquisition function, maximized over the surrogate fitted to earlier trials",
    "confirmation": "the surrogate's recommendation, re-trained to confirm it",
    "warm-start": "an earlier study over the same domains (warm start)",
}


class PublishError(MixoptError):
    """A trial cannot be published (no such trial, not completed, no checkpoint, bad repo id,
    or the hub refused). One line."""


def build_model_card(view: StudyView, index: int) -> str:
    """The model card (``README.md`` text, YAML front matter then Markdown) of trial `index`.

    Raises:
        PublishError: `view` has no trial `index`, or it is not completed.
    """
    record = completed_trial(view, index)
    done = completed(view.trials)
    best = view.best_observed()
    assert best is not None  # `record` itself is completed
    score = view.sign * float(record.objective)  # type: ignore[arg-type]
    rank = 1 + sum(view.sign * float(r.objective) > score for r in done)  # type: ignore[arg-type]
    direction = "maximized" if view.maximize else "minimized"
    name = _md(view.name)

    lines = ["---", "library_name: transformers", "tags:"]
    lines += [f"- {tag}" for tag in CARD_TAGS]
    lines += ["---", "", f"# {name}: trial {record.index}", ""]
    lines += [
        "A checkpoint fine-tuned with GRPO (reinforcement learning with verifiable rewards) on "
        f"a mixture of datasets: trial {record.index} of the mixopt study **{name}**, which "
        f"searches the mixture of {len(view.domains)} domains for the best "
        f"{_md(view.objective)} ({direction}).",
        "",
        "## Mixture",
        "",
        "| domain | weight |",
        "|:---|---:|",
    ]
    lines += [f"| {_md(d)} | {record.weights.get(d, 0.0):.4f} |" for d in view.domains]
    lines += [
        "",
        "## Results",
        "",
        "| metric | value |",
        "|:---|---:|",
        f"| **{_md(view.objective)}** (objective, {direction}) | **{_num(record.objective)}** |",
    ]
    skip = {view.objective, "objective"}
    lines += [
        f"| {_md(m)} | {_num(v)} |" for m, v in sorted(record.metrics.items()) if m not in skip
    ]
    lines += [
        "",
        f"Rank {rank} of the study's {len(done)} completed trial(s) by {_md(view.objective)}.",
        "",
        "## The study, for context",
        "",
        f"| | trial | {_md(view.objective)} |" + "".join(f" w.{_md(d)} |" for d in view.domains),
        "|:---|---:|---:|" + "---:|" * len(view.domains),
    ]
    for label, r in (("this trial", record), ("best of the study", best)):
        weights = "".join(f" {r.weights.get(d, 0.0):.4f} |" for d in view.domains)
        lines.append(f"| {label} | {r.index} | {_num(r.objective)} |{weights}")
    lines += [
        "",
        "## How it was produced",
        "",
        f"- Study **{name}**: {len(latest_attempts(view.trials))} trial(s) over the domains "
        f"{', '.join(_md(d) for d in view.domains)}; surrogate {_md(view.surrogate)}, "
        f"study seed {view.seed}.",
        f"- This trial's mixture came from {_md(SOURCES.get(record.source, record.source))}; "
        f"attempt {record.attempt}, training seed {record.seed}.",
        "- Training: GRPO (TRL) on prompts drawn from the mixture with exact per-domain quotas "
        "(largest-remainder rounding of weight x budget) and a seeded shuffle; every trial of "
        "the study has the same budget.",
        "- Evaluation: the metrics above, computed by the study's evaluators on the trained "
        "checkpoint.",
    ]
    if record.run_id:
        run = f"- MLflow run of this trial: {_md(record.run_id)}"
        if view.parent_run_id:
            run += f" (study run {_md(view.parent_run_id)})"
        lines.append(run + ".")
    lines += ["", "Published with mixopt.", ""]
    return "\n".join(lines)


def publish_trial(
    view: StudyView,
    index: int,
    repo: str,
    *,
    checkpoint: Path,
    api: Any | None = None,
    private: bool = True,
    token: str | None = None,
) -> str:
    """Push trial `index`'s checkpoint folder to the hub model repo `repo` with a model card.

    Everything is checked before the hub is contacted. The repo is created if missing
    (`private` applies only then); the folder's files and the card go up in one commit, the
    card replacing any ``README.md`` of the checkpoint.

    Args:
        checkpoint: the trial's saved model folder (with ``config.json``).
        api: a ``huggingface_hub.HfApi`` or an object with its ``create_repo`` and
            ``upload_folder``; a new ``HfApi(token=token)`` by default.
        token: hub token; None uses the one the hub client finds (``HF_TOKEN``, login).

    Returns:
        The repo's URL as the hub reports it.

    Raises:
        PublishError: a malformed repo id, no such trial, a trial not completed, a checkpoint
            folder missing or without ``config.json``, or an error from the hub.
    """
    check_repo_id(repo)
    record = completed_trial(view, index)
    folder = check_checkpoint(checkpoint)
    card = build_model_card(view, index)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    from huggingface_hub.errors import HFValidationError, HTTPError

    with tempfile.TemporaryDirectory(prefix="mixopt-publish-") as tmp:
        staging = Path(tmp) / "upload"
        stage_checkpoint(folder, staging, card)
        try:
            url = api.create_repo(
                repo_id=repo, repo_type="model", private=private, exist_ok=True, token=token
            )
            api.upload_folder(
                repo_id=repo,
                repo_type="model",
                folder_path=str(staging),
                commit_message=f"mixopt: study {view.name}, trial {record.index}",
                token=token,
            )
        except (OSError, HTTPError, HFValidationError) as err:  # HfHubHTTPError is an OSError
            raise PublishError(f"publishing trial {index} to {repo!r}: {_one_line(err)}") from err
    return str(url)


def completed_trial(view: StudyView, index: int) -> TrialRecord:
    """The latest attempt of trial `index`, which must be completed with an objective value.

    Raises:
        PublishError: no such trial, or it is not completed.
    """
    latest = {r.index: r for r in latest_attempts(view.trials)}
    record = latest.get(index)
    if record is None:
        have = _ranges(sorted(latest)) if latest else "none"
        raise PublishError(f"study {view.name!r} has no trial {index} (its trials: {have})")
    if record.status is not TrialStatus.COMPLETED or record.objective is None:
        why = f": {_one_line(record.reason)}" if record.reason.strip() else ""
        state = (
            record.status.value
            if record.status is not TrialStatus.COMPLETED
            else "completed without an objective value"
        )
        raise PublishError(
            f"trial {index} of study {view.name!r} is {state}{why}; "
            "only a completed trial can be published"
        )
    return record


def check_checkpoint(checkpoint: Path) -> Path:
    """`checkpoint` as an absolute path, checked to be a folder with ``config.json``.

    Raises:
        PublishError: it is missing, not a folder, or has no ``config.json``.
    """
    folder = Path(checkpoint).expanduser().absolute()
    if not folder.exists():
        raise PublishError(f"checkpoint folder {folder} does not exist")
    if not folder.is_dir():
        raise PublishError(f"checkpoint {folder} is not a folder")
    if not (folder / "config.json").is_file():
        raise PublishError(f"checkpoint folder {folder} has no config.json (not a saved model?)")
    return folder


def check_repo_id(repo: str) -> None:
    """Raise PublishError unless `repo` is a hub repo id ``ORG/NAME``."""
    if (
        not REPO_ID.match(repo)
        or ".." in repo
        or "--" in repo
        or any(len(part) > REPO_NAME_MAX for part in repo.split("/"))
    ):
        raise PublishError(
            f"repo id {repo!r} is not of the form ORG/NAME (letters, digits, '-', '_', '.'; "
            f"at most {REPO_NAME_MAX} characters each)"
        )


def stage_checkpoint(checkpoint: Path, staging: Path, card: str) -> None:
    """Fill the new folder `staging` with links to `checkpoint`'s files (copies where links
    are not allowed) and the model card as ``README.md``."""
    for root, dirs, files in os.walk(checkpoint, followlinks=True):
        dirs.sort()
        rel = Path(root).relative_to(checkpoint)
        (staging / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            if rel == Path(".") and name == CARD_FILE:
                continue  # replaced by the card
            source = (Path(root) / name).resolve()
            target = staging / rel / name
            try:
                target.symlink_to(source)
            except OSError:  # e.g. no symlink privilege
                shutil.copy2(source, target)
    (staging / CARD_FILE).write_text(card, encoding="utf-8")


def _md(text: str) -> str:
    """User text for Markdown: HTML escaped, table pipes escaped, on one line."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def _num(value: float | None) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def _one_line(err: BaseException | str) -> str:
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    return first[:300]


def _ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    spans: list[list[int]] = []
    for k in indices:
        if spans and k == spans[-1][1] + 1:
            spans[-1][1] = k
        else:
            spans.append([k, k])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
