"""The training prompts of a job: its domains loaded, the mixture plan drawn, rows made lazily.

The `datasets.Dataset` handed to TRL holds only the plan (``domain``, ``index`` per prompt); a
transform turns each row into TRL's conversational row (`rlvr.domains.to_conversation`) when the
trainer reads it, so images are decoded one batch at a time and never all held at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import datasets

from rlvr.domains import (
    BadRecordReport,
    DomainRegistry,
    DomainSpec,
    LoadedDomain,
    default_registry,
    load_records,
    to_conversation,
)
from rlvr.job import TrainJob
from rlvr.sampling import MixturePlan, interleave_under, sample_mixture

PLAN_COLUMNS = ("domain", "index")


@dataclass(frozen=True)
class TrainingData:
    """What a job trains on.

    Attributes:
        dataset: one row per prompt, in the plan's order; reading a row gives ``prompt``,
            ``image`` (PIL), ``solution`` and ``domain``.
        plan: the mixture plan (counts per domain, with replacement or not).
        specs: domain name -> spec, for the domains of positive weight.
        reports: domain name -> the bad records skipped while loading it.
    """

    dataset: datasets.Dataset
    plan: MixturePlan
    specs: Mapping[str, DomainSpec]
    reports: Mapping[str, BadRecordReport]


def job_registry(job: TrainJob) -> DomainRegistry:
    """The built-in domains plus the job's ``domain_files``.

    Raises:
        DomainFileError: errors in the domain files.
    """
    return default_registry(job.domain_files)


def build_training_data(job: TrainJob, registry: DomainRegistry | None = None) -> TrainingData:
    """Load the job's domains of positive weight (``train`` split), draw the plan, wrap it.

    Args:
        job: the training job (weights, budget, seed, sampling mode, image policy).
        registry: where domain names are looked up; `job_registry(job)` when None.

    Returns:
        The `TrainingData`. In ``interleave_under`` mode the plan may hold fewer prompts than
        the budget (it stops when a domain runs out; the budget caps it).

    Raises:
        UnknownDomainError: a name the registry does not hold (lists the known ones).
        SourceUnavailableError, SourceFormatError, TooManyBadRecordsError: a domain's data
            cannot be read, or has too many bad records (see `rlvr.domains.load_records`).
    """
    registry = registry if registry is not None else job_registry(job)
    loaded: dict[str, LoadedDomain] = {}
    for name in sorted(job.domains):
        if job.domains[name] > 0:
            loaded[name] = load_records(registry.get(name), "train", images=job.images)
    sizes = {name: len(domain) for name, domain in loaded.items()}
    if job.sampling_mode == "interleave_under":
        plan = interleave_under(sizes, job.domains, job.seed, max_samples=job.budget)
    else:
        plan = sample_mixture(sizes, job.domains, job.budget, job.seed)
    index = datasets.Dataset.from_dict(
        {
            "domain": [domain for domain, _ in plan.items],
            "index": [i for _, i in plan.items],
        }
    )
    dataset = index.with_transform(_ConversationRows(loaded))
    return TrainingData(
        dataset=dataset,
        plan=plan,
        specs={name: domain.spec for name, domain in loaded.items()},
        reports={name: domain.report for name, domain in loaded.items()},
    )


class _ConversationRows:
    """The transform: a batch of plan rows -> a batch of TRL conversational rows.

    A class rather than a closure so that `datasets` can fingerprint and pickle it.
    """

    def __init__(self, loaded: Mapping[str, LoadedDomain]) -> None:
        self._loaded = dict(loaded)

    def __call__(self, batch: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
        rows = [
            to_conversation(self._loaded[domain][index], self._loaded[domain].spec)
            for domain, index in zip(batch["domain"], batch["index"], strict=True)
        ]
        keys = ("prompt", "image", "solution", "domain")
        return {key: [row[key] for row in rows] for key in keys}
