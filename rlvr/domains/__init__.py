"""Training domains: specs, the registry (built-ins + YAML files), loading, TRL conversion.

Built-ins: the reference's ``coco``, ``lisa``, ``geoqav``, ``sat`` and ``scienceqa``, and the
synthetic ``synth_*`` domains drawn from a seed (`rlvr.domains.synthetic`). Start from
`default_registry()` (a new registry each call) and extend it; nothing here is global.
"""

from rlvr.domains.conversation import IMAGE_COLUMN, prompt_messages, to_conversation
from rlvr.domains.images import ImagePolicy
from rlvr.domains.loading import (
    BadRecord,
    BadRecordReport,
    BadRecordsWarning,
    LoadedDomain,
    Record,
    SourceFormatError,
    SourceUnavailableError,
    TooManyBadRecordsError,
    UndecodableImageError,
    load_records,
)
from rlvr.domains.reference import MULTIPLE_CHOICE_TEMPLATE, reference_domains
from rlvr.domains.registry import (
    DomainFileError,
    DomainRegistry,
    UnknownDomainError,
    default_registry,
    load_domain_file,
)
from rlvr.domains.sources import DiskSource, HubSource, JsonlSource, Source, SyntheticSource
from rlvr.domains.spec import AnswerType, DomainSpec, Evaluation, UnknownSplitError
from rlvr.domains.synthetic.domains import synthetic_domains

__all__ = [
    "IMAGE_COLUMN",
    "MULTIPLE_CHOICE_TEMPLATE",
    "AnswerType",
    "BadRecord",
    "BadRecordReport",
    "BadRecordsWarning",
    "DiskSource",
    "DomainFileError",
    "DomainRegistry",
    "DomainSpec",
    "Evaluation",
    "HubSource",
    "ImagePolicy",
    "JsonlSource",
    "LoadedDomain",
    "Record",
    "Source",
    "SourceFormatError",
    "SourceUnavailableError",
    "SyntheticSource",
    "TooManyBadRecordsError",
    "UndecodableImageError",
    "UnknownDomainError",
    "UnknownSplitError",
    "default_registry",
    "load_domain_file",
    "load_records",
    "prompt_messages",
    "reference_domains",
    "synthetic_domains",
    "to_conversation",
]
