"""One TRL reward function per job: each completion scored by its own domain's reward.

TRL calls every reward function on every completion, so a list of per-domain rewards would
score, say, a multiple-choice answer with the IoU reward. Instead one function reads the
``domain`` column and hands each domain's rows to that domain's combined reward
(`DomainSpec.reward_fn`). TRL logs it as ``rewards/domain_reward/mean``; the per-domain means
are logged too, as ``rewards/by_domain/<name>/mean``, through TRL's ``log_metric`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rlvr.domains import DomainSpec
from rlvr.rewards import RewardFn

REWARD_NAME = "domain_reward"


def domain_reward(specs: Mapping[str, DomainSpec]) -> RewardFn:
    """The reward of a mixture of domains, dispatching on the ``domain`` column.

    Args:
        specs: domain name -> spec, for every domain that can appear in the data.

    Returns:
        A TRL reward function ``fn(completions, domain, **columns) -> list[float]`` named
        ``domain_reward``. Every column that holds one cell per completion is sliced to the
        domain's rows before its reward sees it; other keywords (TRL's ``trainer_state``,
        ``log_metric``...) are passed as they are.

    Raises (when called):
        ValueError: a ``domain`` cell naming a domain not in ``specs``, or a ``domain`` column
            of the wrong length (a bug of the caller, not of a completion).
    """
    rewards = {name: spec.reward_fn() for name, spec in specs.items()}

    def reward(
        completions: Sequence[object], domain: Sequence[str], **columns: object
    ) -> list[float]:
        count = len(completions)
        if len(domain) != count:
            raise ValueError(f"{REWARD_NAME}: {count} completions but {len(domain)} domain cells")
        rows_by_domain: dict[str, list[int]] = {}
        for row, name in enumerate(domain):
            rows_by_domain.setdefault(name, []).append(row)
        unknown = sorted(set(rows_by_domain) - set(rewards))
        if unknown:
            raise ValueError(
                f"{REWARD_NAME}: rows of unknown domain(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(rewards))}"
            )
        log_metric = columns.get("log_metric")
        scores = [0.0] * count
        for name in sorted(rows_by_domain):
            rows = rows_by_domain[name]
            sliced = {
                key: [value[i] for i in rows]
                if isinstance(value, list | tuple) and len(value) == count
                else value
                for key, value in columns.items()
            }
            values = rewards[name](
                [completions[i] for i in rows], domain=[name] * len(rows), **sliced
            )
            for i, value in zip(rows, values, strict=True):
                scores[i] = float(value)
            if callable(log_metric):
                log_metric(f"rewards/by_domain/{name}/mean", sum(values) / len(values))
        return scores

    reward.__name__ = reward.__qualname__ = REWARD_NAME
    return reward
