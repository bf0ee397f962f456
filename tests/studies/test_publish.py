"""`studies.publish`: the model card, the checks, and the hub calls (against a fake hub)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard

from mixopt.errors import MixoptError
from studies.publish import PublishError, build_model_card, check_repo_id, publish_trial
from studies.trials import TrialStatus

from .conftest import DOMAINS, make_record


class FakeHub:
    """Records `create_repo` and `upload_folder` calls; reads the folder while it exists."""

    def __init__(self, fail: BaseException | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: dict[str, bytes] = {}
        self.fail = fail

    def create_repo(self, **kwargs):
        self.calls.append(("create_repo", kwargs))
        if self.fail is not None:
            raise self.fail
        return f"https://huggingface.co/{kwargs['repo_id']}"

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        folder = Path(kwargs["folder_path"])
        self.uploaded = {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def checkpoint(tmp_path):
    folder = tmp_path / "trial-7" / "checkpoint"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "qwen2_vl"}')
    (folder / "model.safetensors").write_bytes(b"\x00weights\xff")
    (folder / "tokenizer" / "tokenizer.json").write_text("{}")
    (folder / "README.md").write_text("the trainer's own card")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_publish_uploads_the_checkpoint_with_the_card(make_view, checkpoint):
    view = make_view()
    before = snapshot(checkpoint)
    hub = FakeHub()
    url = publish_trial(
        view, 7, "my-org/quad-trial-7", checkpoint=checkpoint, api=hub, token="hf_secret"
    )
    assert url == "https://huggingface.co/my-org/quad-trial-7"
    (name, create), (name2, upload) = hub.calls
    assert (name, name2) == ("create_repo", "upload_folder")
    assert create == {
        "repo_id": "my-org/quad-trial-7",
        "repo_type": "model",
        "private": True,
        "exist_ok": True,
        "token": "hf_secret",
    }
    assert upload["repo_id"] == "my-org/quad-trial-7" and upload["repo_type"] == "model"
    assert upload["token"] == "hf_secret" and "trial 7" in upload["commit_message"]
    assert set(hub.uploaded) == {
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer/tokenizer.json",
    }
    assert hub.uploaded["model.safetensors"] == b"\x00weights\xff"
    assert hub.uploaded["README.md"].decode() == build_model_card(view, 7)
    assert snapshot(checkpoint) == before  # the user's folder is untouched
    assert not Path(upload["folder_path"]).exists()  # the staging folder is gone


def test_public_repo_and_default_token(make_view, checkpoint):
    hub = FakeHub()
    publish_trial(make_view(), 0, "org/name", checkpoint=checkpoint, api=hub, private=False)
    assert hub.calls[0][1]["private"] is False and hub.calls[0][1]["token"] is None


def test_model_card(make_view):
    view = make_view()
    record = next(r for r in view.trials if r.index == 4)
    best = view.best_observed()
    text = build_model_card(view, 4)
    card = ModelCard(text)
    assert {"mixopt", "grpo", "rlvr"} <= set(card.data.tags)
    assert card.data.library_name == "transformers"
    assert text.startswith("---\n") and "# quad: trial 4" in text
    for d in DOMAINS:
        assert f"| {d} | {record.weights[d]:.4f} |" in text
    assert f"| **out_score** (objective, maximized) | **{record.objective:.4g}** |" in text
    assert f"| in_score | {record.metrics['in_score']:.4g} |" in text
    assert f"| chart_qa | {record.metrics['chart_qa']:.4g} |" in text
    assert f"| best of the study | {best.index} | {best.objective:.4g} |" in text
    assert "GRPO" in text and "run-4-0" in text and "parent-run" in text
    assert "initial space-filling design" in text


def test_model_card_escapes_user_text(make_view):
    view = make_view(name="<script>alert(1)</script> | x")
    text = build_model_card(view, 0)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| x" in text
    assert ModelCard(text).data.tags  # the front matter is untouched by user text


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (42, r"study 'quad' has no trial 42 \(its trials: 0-11\)"),
        (10, r"trial 10 of study 'quad' is failed: CUDA out of memory; only a completed"),
        (11, r"trial 11 of study 'quad' is running; only a completed trial"),
    ],
)
def test_only_a_completed_trial_is_published(make_view, checkpoint, index, message):
    hub = FakeHub()
    with pytest.raises(PublishError, match=message) as info:
        publish_trial(make_view(), index, "org/name", checkpoint=checkpoint, api=hub)
    assert isinstance(info.value, MixoptError) and "\n" not in str(info.value)
    assert hub.calls == []
    with pytest.raises(PublishError, match=message):
        build_model_card(make_view(), index)


def test_a_retried_trial_is_published_from_its_latest_attempt(make_view, checkpoint):
    hub = FakeHub()
    publish_trial(make_view(), 3, "org/name", checkpoint=checkpoint, api=hub)
    assert "attempt 1" in hub.uploaded["README.md"].decode()


def test_checkpoint_is_checked(make_view, tmp_path):
    hub = FakeHub()
    view = make_view()
    with pytest.raises(PublishError, match="does not exist"):
        publish_trial(view, 0, "org/name", checkpoint=tmp_path / "nope", api=hub)
    (tmp_path / "file").write_text("x")
    with pytest.raises(PublishError, match="is not a folder"):
        publish_trial(view, 0, "org/name", checkpoint=tmp_path / "file", api=hub)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PublishError, match=r"has no config\.json"):
        publish_trial(view, 0, "org/name", checkpoint=tmp_path / "empty", api=hub)
    assert hub.calls == []


@pytest.mark.parametrize("repo", ["org/name", "Org-1/my_model.v2", "a/b", "user/Qwen2-VL-2B"])
def test_valid_repo_ids(repo):
    check_repo_id(repo)


@pytest.mark.parametrize(
    "repo",
    [
        "name",
        "",
        "a/b/c",
        "/name",
        "org/",
        "-org/name",
        "org/name.",
        "org/na me",
        "org/na..me",
        "org/na--me",
        "org/naïve",
        "org/" + "x" * 97,
    ],
)
def test_malformed_repo_ids_are_refused_before_the_hub(make_view, checkpoint, repo):
    hub = FakeHub()
    with pytest.raises(PublishError, match="is not of the form ORG/NAME"):
        publish_trial(make_view(), 0, repo, checkpoint=checkpoint, api=hub)
    assert hub.calls == []


def test_hub_errors_become_one_line(make_view, checkpoint):
    hub = FakeHub(fail=OSError("connection refused\nsecond line"))
    with pytest.raises(
        PublishError,
        match=r"^publishing trial 0 to 'org/name': connection "
        r"refused$",
    ):
        publish_trial(make_view(), 0, "org/name", checkpoint=checkpoint, api=hub)


def test_minimized_study_card(make_view):
    view = make_view(maximize=False)
    text = build_model_card(view, view.best_observed().index)
    assert "(objective, minimized)" in text and "Rank 1 of the study's 10" in text


def test_symlinked_checkpoint_files_are_uploaded(make_view, checkpoint, tmp_path):
    # HF cache snapshots are folders of links; the upload must carry the files' contents.
    linked = tmp_path / "linked"
    linked.mkdir()
    for name in ("config.json", "model.safetensors"):
        (linked / name).symlink_to(checkpoint / name)
    hub = FakeHub()
    publish_trial(make_view(), 0, "org/name", checkpoint=linked, api=hub)
    assert hub.uploaded["model.safetensors"] == b"\x00weights\xff"
    assert sorted(hub.uploaded) == ["README.md", "config.json", "model.safetensors"]


def test_a_completed_trial_without_objective_is_refused(make_view):
    trials = (make_record(0, np.array([0.2, 0.5, 0.3]), TrialStatus.COMPLETED, objective=None),)
    with pytest.raises(PublishError, match="is completed without an objective value;"):
        build_model_card(make_view(trials), 0)
