"""Loading a domain's records, checking each one, and skipping (and counting) the bad ones.

Memory: images stay encoded until used. At load every record is checked, its image only as far
as Pillow's header (format and size: no pixel decoding), so a domain of 15,000 images loads in
seconds and never holds decoded images. An image is decoded when its record is read
(`LoadedDomain[i]`), converted to RGB and resized by the `ImagePolicy`. An image whose header is
fine but whose pixel data is broken (a truncated file) is therefore found only when read, and
raises `UndecodableImageError`; ``check_images="full"`` decodes every image once at load (one
at a time, released at once) to find those too, at the cost of a slower load.

Bad records -- a missing field, an image that cannot be read or has an unusable size, a
non-string problem or solution, an answer the domain's rewards cannot read, a box outside
0-1000 -- are skipped, counted by reason in a `BadRecordReport` and announced with a
`BadRecordsWarning`. More than ``max_bad_fraction`` (1 %) bad records in a domain is an error.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from PIL import Image

from rlvr.data_limits import MAX_BAD_FRACTION
from rlvr.domains.images import ImagePolicy
from rlvr.domains.sources import DiskSource, HubSource, JsonlSource, SyntheticSource
from rlvr.domains.spec import TRAIN, DomainSpec
from rlvr.domains.synthetic.tasks import make_record
from rlvr.rewards.boxes import COORDINATE_MAX
from rlvr.rewards.parsing import (
    answer_content,
    parse_box,
    parse_detections,
    parse_option_letter,
    solution_answer,
)

FIELDS = ("image", "problem", "solution")
EXAMPLES_KEPT = 10
EXAMPLES_SHOWN = 3
_ITER_BATCH = 256
# Pillow's failures on a bad image: OSError (incl. UnidentifiedImageError, truncated data),
# SyntaxError (some broken PNG chunks), DecompressionBombError (absurd sizes), ValueError.
_IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_BRACKETED_FOUR = re.compile(r"\[\s*" + r"\s*,\s*".join([f"({_NUMBER})"] * 4) + r"\s*\]")


class SourceUnavailableError(OSError):
    """A domain's data cannot be reached: not in the hub cache while offline, no such folder."""


class SourceFormatError(ValueError):
    """A domain's data is not in the expected shape (a missing column, an ambiguous split)."""


class TooManyBadRecordsError(ValueError):
    """More bad records than allowed in a domain; the message names it and shows examples."""


class UndecodableImageError(ValueError):
    """An image that passed the header check at load could not be decoded when read."""


class BadRecordsWarning(UserWarning):
    """Some records of a domain were skipped; the warning counts them by reason."""


@dataclass(frozen=True)
class Record:
    """One training example: an RGB image (after the `ImagePolicy`), a problem and a solution."""

    image: Image.Image
    problem: str
    solution: str


@dataclass(frozen=True)
class BadRecord:
    """A skipped record: its position in the source, the reason (a category) and details."""

    index: int
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"#{self.index} {self.reason}: {self.detail}"


@dataclass(frozen=True)
class BadRecordReport:
    """What was skipped while loading one split of a domain.

    Attributes:
        domain: the domain's name.
        split: the split loaded.
        total: records examined (including the bad ones).
        counts: reason -> number of records skipped for it.
        examples: the first few bad records (at most ``EXAMPLES_KEPT``).
    """

    domain: str
    split: str
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    examples: tuple[BadRecord, ...] = ()

    @property
    def bad(self) -> int:
        return sum(self.counts.values())

    @property
    def fraction(self) -> float:
        return self.bad / self.total if self.total else 0.0

    def summary(self) -> dict[str, object]:
        """A JSON-serializable record for ``train_result.json`` and MLflow."""
        return {
            "domain": self.domain,
            "split": self.split,
            "total": self.total,
            "bad": self.bad,
            "bad_by_reason": dict(sorted(self.counts.items())),
            "examples": [str(example) for example in self.examples[:EXAMPLES_SHOWN]],
        }

    def describe(self) -> str:
        """One line: domain, split, how many bad of how many, by reason."""
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.counts.items()))
        return (
            f"domain {self.domain!r} ({self.split}): {self.bad} of {self.total} records are bad "
            f"({100 * self.fraction:.2f}%; {reasons})"
        )


class _Rows(Protocol):
    """Raw rows of a source: their number, and each as a dict of raw field values."""

    def __len__(self) -> int: ...

    def row(self, index: int) -> dict[str, object]: ...

    def iter_rows(self) -> Iterator[dict[str, object]]: ...

    def open_image(self, value: object) -> Image.Image: ...


class LoadedDomain(Sequence[Record]):
    """The good records of one split of a domain, read lazily (images decoded on access).

    ``domain[i]`` is a `Record`; ``domain.source_index(i)`` is its position in the source.

    Raises (on ``domain[i]``):
        IndexError: ``i`` out of range.
        UndecodableImageError: the image cannot be decoded (only possible with
            ``check_images="header"``); the message names the domain and the source index.
    """

    def __init__(
        self,
        spec: DomainSpec,
        split: str,
        rows: _Rows,
        good: Sequence[int],
        report: BadRecordReport,
        images: ImagePolicy,
    ) -> None:
        self.spec = spec
        self.split = split
        self.report = report
        self.images = images
        self._rows = rows
        self._good = tuple(good)

    @property
    def name(self) -> str:
        return self.spec.name

    def __len__(self) -> int:
        return len(self._good)

    def __getitem__(self, index: int) -> Record:  # type: ignore[override]
        if not isinstance(index, int):
            raise TypeError(f"record indices must be integers, got {type(index).__name__}")
        source_index = self._good[index]
        row = self._rows.row(source_index)
        try:
            with self._rows.open_image(row["image"]) as opened:
                opened.load()
                image = self.images.apply(opened)
        except _IMAGE_ERRORS as error:
            raise UndecodableImageError(
                f"domain {self.name!r} ({self.split}): the image of record #{source_index} "
                f"cannot be decoded: {error}"
            ) from None
        return Record(image=image, problem=str(row["problem"]), solution=_tagged(row["solution"]))

    def source_index(self, index: int) -> int:
        """The position in the source of the ``index``-th good record."""
        return self._good[index]


def load_records(
    spec: DomainSpec,
    split: str = TRAIN,
    *,
    limit: int | None = None,
    images: ImagePolicy | None = None,
    check_images: Literal["header", "full"] = "header",
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> LoadedDomain:
    """Load one split of a domain, check every record and skip the bad ones.

    Args:
        spec: the domain.
        split: ``"train"``, ``"test"`` or one of ``spec.extra_splits``.
        limit: read only the first ``limit`` records of the source (None: all).
        images: size and colour rules for the images; `ImagePolicy()` by default.
        check_images: ``"header"`` (format and size, no decoding) or ``"full"`` (decode each
            image once at load). See the module docstring.
        max_bad_fraction: largest fraction of bad records tolerated.

    Returns:
        A `LoadedDomain` of the good records, with its `BadRecordReport`.

    Raises:
        UnknownSplitError: the domain has no such split (lists its splits).
        SourceUnavailableError: a hub dataset that is not cached while the hub cannot be
            reached (one line: use a local ``disk`` or ``jsonl`` source), a missing file.
        SourceFormatError: a missing column, a saved ``DatasetDict`` whose split is unclear, a
            JSONL ``image`` path outside its ``image_dir`` (unless ``allow_images_outside``).
        TooManyBadRecordsError: more than ``max_bad_fraction`` of the records are bad, or none
            is good (the message names the domain and shows up to 3 examples).
        ValueError: an invalid ``limit`` or ``check_images``.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be None or a non-negative integer, got {limit!r}")
    if check_images not in ("header", "full"):
        raise ValueError(f"check_images must be 'header' or 'full', got {check_images!r}")
    images = images if images is not None else ImagePolicy()
    source = spec.source_for(split)
    where = f"domain {spec.name!r} ({split})"
    if isinstance(source, JsonlSource):
        rows: _Rows = _JsonlRows.read(source, where, limit)
    elif isinstance(source, SyntheticSource):
        rows = _SyntheticRows(source, limit)
    else:
        rows = _DatasetRows(_read_dataset(source, where), where, limit)

    counts: Counter[str] = Counter()
    examples: list[BadRecord] = []
    good: list[int] = []
    for index, row in enumerate(rows.iter_rows()):
        problem = _problem_with(row, spec, rows, images, check_images)
        if problem is None:
            good.append(index)
            continue
        reason, detail = problem
        counts[reason] += 1
        if len(examples) < EXAMPLES_KEPT:
            examples.append(BadRecord(index, reason, detail))
    report = BadRecordReport(spec.name, split, len(rows), dict(counts), tuple(examples))
    if report.bad and (report.fraction > max_bad_fraction or not good):
        shown = "; ".join(str(example) for example in examples[:EXAMPLES_SHOWN])
        raise TooManyBadRecordsError(
            f"{report.describe()}, more than the {100 * max_bad_fraction:g}% allowed; e.g. {shown}"
        )
    if not good:
        raise TooManyBadRecordsError(f"{where}: the source holds no records")
    if report.bad:
        warnings.warn(f"skipping bad records: {report.describe()}", BadRecordsWarning, stacklevel=2)
    return LoadedDomain(spec, split, rows, good, report, images)


def _problem_with(
    row: dict[str, object],
    spec: DomainSpec,
    rows: _Rows,
    images: ImagePolicy,
    check_images: str,
) -> tuple[str, str] | None:
    """``(reason, detail)`` if the record is bad, else None."""
    if "_unreadable" in row:
        return "unreadable line", str(row["_unreadable"])
    missing = [name for name in FIELDS if row.get(name) is None]
    if missing:
        return "missing field", ", ".join(missing)
    if not isinstance(row["problem"], str):
        return "non-string problem", f"got {type(row['problem']).__name__}"
    solution = row["solution"]
    if not isinstance(solution, str):
        return "non-string solution", f"got {type(solution).__name__}"
    answer_problem = _answer_problem(solution, spec)
    if answer_problem is not None:
        return answer_problem
    try:
        with rows.open_image(row["image"]) as opened:
            size_problem = images.problem_with_size(*opened.size)
            if size_problem is None and check_images == "full":
                opened.load()
    except _IMAGE_ERRORS as error:
        return "undecodable image", _short(str(error) or type(error).__name__)
    if size_problem is not None:
        return "unusable image size", size_problem
    return None


def _answer_problem(solution: str, spec: DomainSpec) -> tuple[str, str] | None:
    """Why the domain's rewards could never score this solution, or None.

    A record whose answer cannot be read would reward nothing (the reference's "No Objects"
    defect), so it is bad data rather than a hard example.
    """
    answer = solution_answer(solution)
    if answer is None:
        return "unreadable answer", f"broken <answer> tags in {_short(solution)!r}"
    if spec.answer_type == "option_letter" and parse_option_letter(answer) is None:
        return "unreadable answer", f"no option letter in {_short(answer)!r}"
    if spec.answer_type == "box" and parse_box(answer) is None:
        return _box_problem(answer)
    if spec.answer_type == "box_list":
        detections = parse_detections(answer)
        if detections is None:
            return "unreadable answer", f"no detection list in {_short(answer)!r}"
        if any(detection.box is None for detection in detections):
            return _box_problem(answer)
    return None


def _box_problem(answer: str) -> tuple[str, str]:
    for match in _BRACKETED_FOUR.finditer(answer):
        values = [float(v) for v in match.groups()]
        if not all(math.isfinite(v) and 0 <= v <= COORDINATE_MAX for v in values):
            return "box out of range", f"{match.group()} is outside 0-{COORDINATE_MAX:g}"
        if values[0] >= values[2] or values[1] >= values[3]:
            return "invalid box", f"{match.group()} is empty (needs x1 < x2, y1 < y2)"
    return "unreadable answer", f"no valid box in {_short(answer)!r}"


def _tagged(solution: object) -> str:
    # The records' contract is "answer inside <answer>"; user JSONL often holds the bare answer.
    text = str(solution)
    return text if answer_content(text) is not None else f"<answer>{text.strip()}</answer>"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_dataset(source: HubSource | DiskSource, where: str) -> object:
    import datasets  # deferred: importing datasets costs about a second

    if isinstance(source, HubSource):
        try:
            return datasets.load_dataset(source.id, split=source.split, revision=source.revision)
        except ConnectionError:
            raise SourceUnavailableError(
                f"{where}: hub dataset {source.id!r} (split {source.split!r}) is not in the local "
                "Hugging Face cache and the hub cannot be reached; download it where the hub is "
                "reachable, or point the domain at a local `disk` (save_to_disk folder) or "
                "`jsonl` source"
            ) from None
        except datasets.exceptions.DatasetNotFoundError:
            raise SourceUnavailableError(
                f"{where}: hub dataset {source.id!r} does not exist or needs a login "
                "(`hf auth login`); or use a local `disk` or `jsonl` source"
            ) from None
    if not source.path.is_dir():
        raise SourceUnavailableError(f"{where}: no saved dataset folder at {source.path}")
    try:
        loaded = datasets.load_from_disk(str(source.path))
    except FileNotFoundError as error:
        raise SourceUnavailableError(
            f"{where}: {source.path} is not a `save_to_disk` folder ({error})"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = ", ".join(loaded)
        if source.split is None and len(loaded) == 1:
            return next(iter(loaded.values()))
        if source.split is None:
            raise SourceFormatError(
                f"{where}: {source.path} holds several splits ({splits}); name one with `split`"
            )
        if source.split not in loaded:
            raise SourceFormatError(
                f"{where}: {source.path} has no split {source.split!r}; its splits: {splits}"
            )
        return loaded[source.split]
    if source.split is not None:
        raise SourceFormatError(
            f"{where}: {source.path} holds a single dataset without splits; remove `split`"
        )
    return loaded


class _DatasetRows:
    """Rows of a `datasets.Dataset`, its image column kept encoded (``decode=False``)."""

    def __init__(self, dataset: object, where: str, limit: int | None) -> None:
        import datasets

        if not isinstance(dataset, datasets.Dataset):
            raise SourceFormatError(f"{where}: expected a Dataset, got {type(dataset).__name__}")
        missing = [name for name in FIELDS if name not in dataset.column_names]
        if missing:
            raise SourceFormatError(
                f"{where}: the dataset has no column {', '.join(map(repr, missing))}; its "
                f"columns: {', '.join(dataset.column_names)}"
            )
        dataset = dataset.select_columns(list(FIELDS))
        if limit is not None and limit < len(dataset):
            dataset = dataset.select(range(limit))
        if isinstance(dataset.features["image"], datasets.Image):
            # Arrow holds the encoded bytes; decode=False hands them over without decoding.
            dataset = dataset.cast_column("image", datasets.Image(decode=False))
        self._dataset = dataset

    def __len__(self) -> int:
        return len(self._dataset)

    def row(self, index: int) -> dict[str, object]:
        return self._dataset[index]

    def iter_rows(self) -> Iterator[dict[str, object]]:
        for batch in self._dataset.iter(batch_size=_ITER_BATCH):
            yield from (
                dict(zip(FIELDS, values, strict=True))
                for values in zip(*(batch[name] for name in FIELDS), strict=True)
            )

    def open_image(self, value: object) -> Image.Image:
        return _open_image(value, base=None)


class _JsonlRows:
    """Rows of a JSONL file (parsed once; small), images read from ``image_dir`` on demand."""

    def __init__(self, rows: list[dict[str, object]], image_dir: Path) -> None:
        self._rows = rows
        self._image_dir = image_dir

    @classmethod
    def read(cls, source: JsonlSource, where: str, limit: int | None) -> _JsonlRows:
        try:
            handle = source.path.open(encoding="utf-8")
        except OSError as error:
            raise SourceUnavailableError(f"{where}: cannot read {source.path}: {error}") from None
        rows: list[dict[str, object]] = []
        with handle:
            for line_number, line in enumerate(handle, start=1):
                if limit is not None and len(rows) >= limit:
                    break
                if not line.strip():
                    continue
                row = _parse_line(line, line_number)
                if not source.allow_images_outside:
                    _refuse_image_outside(row.get("image"), source.image_dir, where, line_number)
                rows.append(row)
        return cls(rows, source.image_dir)

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, index: int) -> dict[str, object]:
        return self._rows[index]

    def iter_rows(self) -> Iterator[dict[str, object]]:
        return iter(self._rows)

    def open_image(self, value: object) -> Image.Image:
        return _open_image(value, base=self._image_dir)


class _SyntheticRows:
    """Rows drawn by a synthetic task's generator, each when it is read (tens of microseconds).

    Nothing is held: ``row(i)`` draws record ``i`` again, the same every time, and hands over
    the drawn image itself (a fresh one per call).
    """

    def __init__(self, source: SyntheticSource, limit: int | None) -> None:
        self._source = source
        self._n = source.n if limit is None else min(source.n, limit)

    def __len__(self) -> int:
        return self._n

    def row(self, index: int) -> dict[str, object]:
        if not 0 <= index < self._n:
            raise IndexError(f"record {index} outside the {self._n} synthetic records")
        record = make_record(self._source.task, self._source.seed, index)
        return {"image": record.image, "problem": record.problem, "solution": record.solution}

    def iter_rows(self) -> Iterator[dict[str, object]]:
        return (self.row(index) for index in range(self._n))

    def open_image(self, value: object) -> Image.Image:
        if not isinstance(value, Image.Image):
            raise ValueError(f"a synthetic row holds a {type(value).__name__}, not an image")
        return value


def _refuse_image_outside(value: object, image_dir: Path, where: str, line_number: int) -> None:
    """Raise `SourceFormatError` if an ``image`` path is absolute or climbs out of ``image_dir``.

    Checked on the text of the path (``..`` components), not through symbolic links: a folder
    of links into a dataset elsewhere stays usable.
    """
    if isinstance(value, dict) and not value.get("bytes"):
        value = value.get("path")
    if not isinstance(value, str):
        return
    inside = os.path.abspath(image_dir)  # normalized, as is the joined target
    target = os.path.normpath(os.path.join(inside, value))
    if Path(value).is_absolute() or os.path.commonpath([inside, target]) != inside:
        raise SourceFormatError(
            f"{where}: line {line_number}: image path {value!r} leaves image_dir {image_dir}; "
            "set `allow_images_outside: true` in the domain's source to allow it"
        )


def _parse_line(line: str, line_number: int) -> dict[str, object]:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError) as error:
        return {"_unreadable": f"line {line_number}: not JSON ({_short(str(error))})"}
    if not isinstance(value, dict):
        return {"_unreadable": f"line {line_number}: not a JSON object"}
    return value


def _open_image(value: object, base: Path | None) -> Image.Image:
    """A lazily opened Pillow image from an encoded cell: bytes, ``{"bytes", "path"}``, a path.

    Raises OSError (and Pillow's other errors) when it cannot be opened; ValueError for a cell
    of another type.
    """
    if isinstance(value, dict):
        value = value.get("bytes") or value.get("path")
    if isinstance(value, bytes | bytearray):
        return Image.open(io.BytesIO(value))
    if isinstance(value, str):
        path = Path(value)
        if base is not None and not path.is_absolute():
            path = base / path
        return Image.open(path)
    if isinstance(value, Image.Image):
        return value.copy()
    raise ValueError(f"an image cell holds a {type(value).__name__}, not bytes or a path")
