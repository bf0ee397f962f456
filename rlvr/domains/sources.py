"""Where a domain's records come from: the Hugging Face hub, a ``save_to_disk`` folder, JSONL,
or a synthetic task's generator.

A source is one member of the `Source` union, told apart by its ``kind`` key::

    source: {kind: hub, id: yiqingliang/sat-problems-dataset, split: train}
    source: {kind: disk, path: /data/sat, split: train}       # split only for a DatasetDict
    source: {kind: jsonl, path: sat.jsonl, image_dir: images}  # one record per line
    source: {kind: synthetic, task: spatial, n: 2000, seed: 0}  # drawn from the seed
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rlvr.config_types import NonEmptyStr, NonNegativeInt, PositiveInt, StrictBool
from rlvr.domains.synthetic.tasks import task_names

_CONFIG = ConfigDict(frozen=True, extra="forbid")


class HubSource(BaseModel):
    """A dataset on the Hugging Face hub, read with ``datasets.load_dataset(id, split=split)``."""

    model_config = _CONFIG

    kind: Literal["hub"] = "hub"
    id: NonEmptyStr = Field(description="Dataset repository id on the hub, e.g. `owner/name`.")
    split: NonEmptyStr = Field(
        default="train",
        description="Split to read. A dataset pushed as a single `Dataset` has only `train`.",
    )
    revision: NonEmptyStr | None = Field(
        default=None, description="Git revision (branch, tag or commit) of the dataset; None: main."
    )

    def resolved(self, base: Path) -> HubSource:
        """The same source (nothing in it is a path)."""
        return self


class DiskSource(BaseModel):
    """A folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""

    model_config = _CONFIG

    kind: Literal["disk"] = "disk"
    path: Path = Field(
        description="The folder. Relative paths are read from the domain file's folder."
    )
    split: NonEmptyStr | None = Field(
        default=None,
        description="Split of a saved `DatasetDict`; None for a saved `Dataset`, or for a "
        "`DatasetDict` with a single split.",
    )

    def resolved(self, base: Path) -> DiskSource:
        """This source with a relative ``path`` made absolute against ``base``."""
        return self.model_copy(update={"path": _absolute(self.path, base)})


class JsonlSource(BaseModel):
    """A JSONL file, one record a line, and the folder of its images.

    A line: ``{"image": "rel/path.png", "problem": "...", "solution": "<answer>B</answer>"}``.
    """

    model_config = _CONFIG

    kind: Literal["jsonl"] = "jsonl"
    path: Path = Field(description="The JSONL file. Relative paths: from the domain file's folder.")
    image_dir: Path = Field(
        description="Folder that the `image` paths of the lines are relative to. Relative paths: "
        "from the domain file's folder."
    )
    allow_images_outside: StrictBool = Field(
        default=False,
        description="Accept `image` paths that are absolute or climb out of `image_dir` with "
        "`../`. Off: such a line is refused, so a JSONL file cannot reach files elsewhere.",
    )

    def resolved(self, base: Path) -> JsonlSource:
        """This source with relative paths made absolute against ``base``."""
        paths = {"path": _absolute(self.path, base), "image_dir": _absolute(self.image_dir, base)}
        return self.model_copy(update=paths)


class SyntheticSource(BaseModel):
    """The first ``n`` records of a synthetic task's stream for ``seed`` (`rlvr.domains.synthetic`).

    Records are drawn one at a time when read; the same ``(task, seed)`` always gives the same
    records, and a split of ``n`` records is a prefix of a longer one. Give a domain's train and
    test sources different seeds: their records are then drawn independently.
    """

    model_config = _CONFIG

    kind: Literal["synthetic"] = "synthetic"
    task: NonEmptyStr = Field(description="The synthetic task, e.g. `spatial` (see the list).")
    n: PositiveInt = Field(description="Number of records.")
    seed: NonNegativeInt = Field(description="Seed of the records' stream.")

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str) -> str:
        if task not in task_names():
            raise ValueError(f"unknown synthetic task {task!r}; tasks: {', '.join(task_names())}")
        return task

    def resolved(self, base: Path) -> SyntheticSource:
        """The same source (nothing in it is a path)."""
        return self


Source = Annotated[
    HubSource | DiskSource | JsonlSource | SyntheticSource, Field(discriminator="kind")
]


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).absolute()
