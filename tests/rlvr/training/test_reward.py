"""The job's reward: each completion scored by its own domain's reward."""

import pytest

from rlvr.domains import DomainSpec
from rlvr.training import REWARD_NAME, domain_reward

SOURCE = {"kind": "jsonl", "path": "x.jsonl", "image_dir": "."}
MC = DomainSpec(name="mc", source=SOURCE, answer_type="option_letter",
                rewards={"format": 1.0, "accuracy_mc": 2.0})
BOX = DomainSpec(name="box", source=SOURCE, answer_type="box",
                 rewards={"format": 1.0, "iou_grounding": 2.0})


def test_dispatches_each_row_to_its_domain_and_logs_per_domain_means():
    reward = domain_reward({"mc": MC, "box": BOX})
    assert reward.__name__ == REWARD_NAME  # TRL logs rewards by function name
    box = "<think>x</think><answer>[100, 200, 300, 400]</answer>"
    completions = [
        "<think>x</think><answer>B</answer>",  # right letter
        box,  # exact box
        "<think>x</think><answer>A</answer>",  # wrong letter
        "[100, 200, 300, 400]",  # right box, no format: gated to 0
    ]
    logged = {}
    scores = reward(
        completions,
        domain=["mc", "box", "mc", "box"],
        solution=["<answer>B</answer>", "<answer>[100, 200, 300, 400]</answer>",
                  "<answer>B</answer>", "<answer>[100, 200, 300, 400]</answer>"],
        trainer_state=object(),
        log_metric=lambda name, value: logged.__setitem__(name, value),
    )
    assert scores == pytest.approx([3.0, 3.0, 1.0, 0.0])
    assert logged == pytest.approx({"rewards/by_domain/box/mean": 1.5,
                                    "rewards/by_domain/mc/mean": 2.0})


def test_a_row_of_an_unknown_domain_is_an_error():
    with pytest.raises(ValueError, match=r"unknown domain.*'other'; known: mc"):
        domain_reward({"mc": MC})(["x"], domain=["other"], solution=["<answer>B</answer>"])
