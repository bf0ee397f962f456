import pytest

from rlvr.rewards import format_reward

GOOD = "<think>reasoning</think><answer>B</answer>"


@pytest.mark.parametrize(
    ("completion", "reward"),
    [
        (GOOD, 1.0),
        ("<think>a\nb\n</think>\n\n<answer>\nline 1\nline 2\n</answer>\n", 1.0),
        ("  <THINK>x</THINK> <Answer>B</Answer>", 1.0),
        ("<think></think><answer></answer>", 1.0),
        ([{"role": "assistant", "content": GOOD}], 1.0),
        ([{"role": "assistant", "content": [{"type": "text", "text": GOOD}]}], 1.0),
        (GOOD + " trailing", 0.0),
        ("preamble " + GOOD, 0.0),
        ("<think>x</think> so <answer>B</answer>", 0.0),
        ("<answer>B</answer><think>x</think>", 0.0),
        ("<think>x</think>", 0.0),
        ("<answer>B</answer>", 0.0),
        ("<think>x</think><answer>B</answer><answer>C</answer>", 0.0),
        ("<think>put it in <answer></think><answer>B</answer>", 0.0),
        ("<think>x<answer>B</answer>", 0.0),
        ("<think>x</think><answer>B", 0.0),
        ("", 0.0),
        ("<think>" + "x" * 100_000 + "</think><answer>B</answer>", 1.0),
        ("<think>" * 50_000, 0.0),
        (None, 0.0),
        (17, 0.0),
    ],
)
def test_format_reward(completion, reward):
    assert format_reward([completion]) == [reward]


def test_format_reward_ignores_columns_and_keeps_order():
    assert format_reward([GOOD, "x", GOOD], solution=[1, 2, 3], prompts=None) == [1.0, 0.0, 1.0]
    assert format_reward.__name__ == "format"


def test_format_reward_refuses_a_batch_that_is_not_a_list():
    with pytest.raises(TypeError, match="completions must be a list"):
        format_reward("a string")
