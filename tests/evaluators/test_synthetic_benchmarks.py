"""The synthetic benchmarks: a domain's `evaluation` sets its kind; the held-out ones make the
Out-Score."""

import pytest

from evaluators import GenerationSettings, evaluate_with, resolve_benchmarks
from evaluators.objectives import IN_SCORE, OUT_SCORE
from evaluators.result import IN_DOMAIN, OUT_OF_DOMAIN
from rlvr.domains import default_registry
from rlvr.domains.synthetic.domains import OUT_OF_DOMAIN as OOD_NAMES
from rlvr.domains.synthetic.domains import TRAINING_DOMAINS

LIMIT = 12


class AlwaysA:
    """Answers option A to everything, in the format."""

    def generate(self, prompts, images, *, seed=0):
        return ["<think>t</think><answer>A</answer>"] * len(prompts)


def test_out_of_domain_benchmarks_make_the_out_score():
    registry = default_registry()
    specs = resolve_benchmarks(registry, [*TRAINING_DOMAINS, *OOD_NAMES])
    result, samples = evaluate_with(
        AlwaysA(), specs, GenerationSettings(max_new_tokens=4), checkpoint="c", limit=LIMIT
    )
    kinds = {name: score.kind for name, score in result.benchmarks.items()}
    assert kinds == {
        **{name: IN_DOMAIN for name in TRAINING_DOMAINS},
        **{name: OUT_OF_DOMAIN for name in OOD_NAMES},
    }
    assert all(score.n == LIMIT for score in result.benchmarks.values())
    ood = [result.benchmarks[name].score for name in OOD_NAMES]
    ind = [result.benchmarks[name].score for name in TRAINING_DOMAINS]
    # Equal sizes: the size-weighted means are plain means.
    assert result.objectives[OUT_SCORE] == pytest.approx(sum(ood) / len(ood))
    assert result.objectives[IN_SCORE] == pytest.approx(sum(ind) / len(ind))
    # "A" is right about as often as chance on the multiple-choice ones, never on boxes.
    assert result.benchmarks["synth_ground"].score == 0.0
    assert 0.0 < result.objectives[OUT_SCORE] < 1.0
    assert len(samples) == LIMIT * len(specs)
