"""A known response surface over mixtures, for the `function` launcher's example study.

`quadratic_surface` plays a trial: it returns metrics like an evaluation would, from a
quadratic mixture model with one interaction and a little seeded noise. Its optimum is known
(`OPTIMUM`), so a study on it can be checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

DOMAINS = ("alpha", "beta", "gamma")
OPTIMUM = {"alpha": 0.2, "beta": 0.5, "gamma": 0.3}
NOISE_SD = 0.005


def true_score(weights: Mapping[str, float]) -> float:
    """Noise-free out-of-domain score: 0.8 at `OPTIMUM`, lower away from it."""
    x = np.array([weights.get(d, 0.0) for d in DOMAINS])
    opt = np.array([OPTIMUM[d] for d in DOMAINS])
    return float(0.8 - 2.0 * np.sum((x - opt) ** 2))


def quadratic_surface(weights: Mapping[str, float], *, seed: int = 0) -> dict[str, float]:
    """Metrics of a pretend trial on `weights`: ``out_score`` (noisy) and ``in_score``."""
    key = [seed, *(round(weights.get(d, 0.0) * 1e6) for d in DOMAINS)]
    noise = np.random.default_rng(key).normal(0.0, NOISE_SD)
    return {
        "out_score": true_score(weights) + noise,
        "in_score": 0.5 + 0.3 * weights.get("alpha", 0.0),
    }


def learning_surface(weights: Mapping[str, float], *, seed: int = 0,
                     report: Callable[[float, Mapping[str, float]], None]) -> dict[str, float]:
    """`quadratic_surface` learned over the budget, for studies with ``search.fidelity``:
    at fraction ``f`` of the budget ``out_score`` has reached ``(0.5 + 0.5 f)`` of its final
    value (plus a little seeded noise per checkpoint); reported at each of
    ``report.fractions``, then the final metrics are returned."""
    final = quadratic_surface(weights, seed=seed)
    for fraction in report.fractions:
        key = [seed, round(fraction * 1000), *(round(weights.get(d, 0.0) * 1e6) for d in DOMAINS)]
        noise = np.random.default_rng(key).normal(0.0, NOISE_SD)
        report(fraction, {"out_score": final["out_score"] * (0.5 + 0.5 * fraction) + noise,
                          "in_score": final["in_score"]})
    return final


PROXY_OPTIMUM = {"alpha": 0.3, "beta": 0.4, "gamma": 0.3}
PROXY_NOISE_SD = 0.01


def proxy_surface(weights: Mapping[str, float], *, seed: int = 0,
                  proxy: str | None = None) -> dict[str, float]:
    """`quadratic_surface` for studies with ``search.proxies``: a target trial (``proxy``
    None) is `quadratic_surface`; a proxy trial (any proxy name) sees a biased, noisier
    version: its optimum moved to `PROXY_OPTIMUM`, its scale halved, 0.3 lower, twice the
    noise. Its best mixture is not the target's, so a study must run target trials to
    recommend well."""
    if proxy is None:
        return quadratic_surface(weights, seed=seed)
    x = np.array([weights.get(d, 0.0) for d in DOMAINS])
    opt = np.array([PROXY_OPTIMUM[d] for d in DOMAINS])
    key = [seed, 7, *(round(weights.get(d, 0.0) * 1e6) for d in DOMAINS)]
    noise = np.random.default_rng(key).normal(0.0, PROXY_NOISE_SD)
    return {"out_score": float(0.5 - 1.0 * np.sum((x - opt) ** 2)) + noise,
            "in_score": 0.5 + 0.3 * weights.get("alpha", 0.0)}
