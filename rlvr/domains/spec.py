"""`DomainSpec`: what defines a training domain (data source, prompt, answer type, rewards)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rlvr import rewards as reward_functions
from rlvr.config_types import NonEmptyStr, NonNegativeReal, StrictBool
from rlvr.domains.sources import Source
from rlvr.rewards import RewardFn

PROBLEM_PLACEHOLDER = "{problem}"
TRAIN = "train"
TEST = "test"
# Domain names end up in MLflow parameter names (`w.<name>`) and in `--mixture a=0.3,b=0.7`.
DomainName = Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
AnswerType = Literal["option_letter", "math", "box", "box_list"]
Evaluation = Literal["in_domain", "out_of_domain"]


class UnknownSplitError(KeyError):
    """A split that a domain does not have; the message lists the ones it has."""

    def __str__(self) -> str:  # KeyError would print the message inside quotes
        return str(self.args[0])


class DomainSpec(BaseModel):
    """A training domain: where its records come from, how they are prompted and rewarded.

    Records have ``image``, ``problem`` and ``solution`` (the answer inside
    ``<answer>...</answer>``). The prompt is `prompt_template` with ``{problem}`` replaced by
    the record's problem (plain text replacement: other braces are kept as they are).

    Raises:
        pydantic.ValidationError: on construction, for every invalid field at once (unknown
            reward names list the known ones).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: DomainName = Field(
        description="Unique name; letters, digits, `_`, `.`, `-`. Mixture weights refer to it."
    )
    description: str = Field(default="", description="One line shown by `mixopt domains list`.")
    source: Source = Field(description="Where the training records come from.")
    test_source: Source | None = Field(
        default=None, description="Where the held-out test records come from; None: no test set."
    )
    extra_splits: dict[DomainName, Source] = Field(
        default_factory=dict,
        description="Further named sources (e.g. a `mini` subset), read as `split=<name>`.",
    )
    prompt_template: NonEmptyStr = Field(
        default=PROBLEM_PLACEHOLDER,
        description="User prompt; `{problem}` is replaced by the record's problem text.",
    )
    system_prompt: str | None = Field(
        default=None, description="Optional system message put before the user prompt."
    )
    answer_type: AnswerType = Field(
        description="What the `<answer>` holds: an option letter, a math expression, one box "
        "`[x1, y1, x2, y2]` or a list of boxes, coordinates in 0-1000."
    )
    rewards: dict[NonEmptyStr, NonNegativeReal] = Field(
        description="Reward name -> weight; the domain's reward is their weighted sum."
    )
    gate_on_format: StrictBool = Field(
        default=True,
        description="Count the non-format rewards only where the completion follows the format.",
    )
    evaluation: Evaluation = Field(
        default="in_domain",
        description="How the test split counts when a checkpoint is scored: `in_domain` (a "
        "training domain's held-out test, aggregated into the In-Score) or `out_of_domain` (a "
        "held-out task that studies do not train on, aggregated into the Out-Score).",
    )

    @field_validator("prompt_template")
    @classmethod
    def _template_has_placeholder(cls, template: str) -> str:
        if PROBLEM_PLACEHOLDER not in template:
            raise ValueError(f"must contain {PROBLEM_PLACEHOLDER} (where the problem goes)")
        return template

    @field_validator("rewards")
    @classmethod
    def _known_rewards(cls, weights: dict[str, float]) -> dict[str, float]:
        if not weights:
            raise ValueError("at least one reward is needed")
        known = reward_functions.names()
        unknown = [name for name in weights if name not in known]
        if unknown:
            raise ValueError(
                f"unknown reward(s) {', '.join(map(repr, unknown))}; known rewards: "
                f"{', '.join(known)}"
            )
        if not any(weights.values()):
            raise ValueError("all reward weights are zero")
        return weights

    @field_validator("extra_splits")
    @classmethod
    def _extra_splits_not_reserved(cls, splits: dict[str, Source]) -> dict[str, Source]:
        reserved = sorted({TRAIN, TEST} & set(splits))
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} cannot be an extra split (use `source` / `test_source`)"
            )
        return splits

    def splits(self) -> tuple[str, ...]:
        """The splits this domain can load: ``train``, ``test`` if it has a test source, extras."""
        names = [TRAIN] + ([TEST] if self.test_source is not None else [])
        return (*names, *self.extra_splits)

    def source_for(self, split: str) -> Source:
        """The source of ``split``. Raises `UnknownSplitError` listing the domain's splits."""
        if split == TRAIN:
            return self.source
        if split == TEST and self.test_source is not None:
            return self.test_source
        if split in self.extra_splits:
            return self.extra_splits[split]
        raise UnknownSplitError(
            f"domain {self.name!r} has no split {split!r}; its splits: {', '.join(self.splits())}"
        )

    def prompt_text(self, problem: str) -> str:
        """The user prompt for ``problem``: the template with ``{problem}`` replaced.

        ``str.replace`` rather than ``str.format``: problems hold braces (JSON boxes, LaTeX)
        and the template may too; only the placeholder is substituted, and the problem text
        is inserted verbatim.
        """
        return self.prompt_template.replace(PROBLEM_PLACEHOLDER, problem)

    def reward_fn(self) -> RewardFn:
        """The domain's combined reward (`rlvr.rewards.combine` of `rewards`, gated or not)."""
        return reward_functions.combine(self.rewards, gate_on_format=self.gate_on_format)

    def with_paths_from(self, base: Path) -> DomainSpec:
        """This spec with every relative path of its sources made absolute against ``base``."""
        test_source = None if self.test_source is None else self.test_source.resolved(base)
        return self.model_copy(
            update={
                "source": self.source.resolved(base),
                "test_source": test_source,
                "extra_splits": {k: s.resolved(base) for k, s in self.extra_splits.items()},
            }
        )
