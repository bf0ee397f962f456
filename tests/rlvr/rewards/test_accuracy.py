import threading

import pytest

from rlvr.rewards import accuracy_math, accuracy_mc, math_accuracy_reward


def wrap(answer: str) -> str:
    return f"<think>thinking</think><answer>{answer}</answer>"


@pytest.mark.parametrize(
    ("completion", "solution", "reward"),
    [
        (wrap("B"), "<answer>B</answer>", 1.0),
        (wrap("C"), "<answer>B</answer>", 0.0),
        (wrap("(b)"), "<answer>B</answer>", 1.0),
        (wrap("B) 3 cm"), "<answer>(B)</answer>", 1.0),
        (wrap("\n\nB.\nBecause the angle is right.\n"), "<answer>B</answer>", 1.0),  # multi-line
        (wrap("Answer: [D]"), "D", 1.0),  # solution without tags
        (wrap(""), "<answer>B</answer>", 0.0),
        (wrap("B"), "", 0.0),
        (wrap("B"), "<answer>B", 0.0),
        ("B", "<answer>B</answer>", 0.0),  # no answer block: the reasoning is not read
        ("<think>B</think><answer>C</answer>", "<answer>B</answer>", 0.0),
        (wrap("A") + wrap("B"), "<answer>B</answer>", 1.0),  # the last block counts
        ("<answer>B</answer>" + "x" * 100_000, "<answer>B</answer>", 1.0),
        (wrap("B" * 100_000), "<answer>B</answer>", 0.0),
        ([{"role": "assistant", "content": wrap("B")}], "<answer>B</answer>", 1.0),
        (None, "<answer>B</answer>", 0.0),
        (wrap("B"), None, 0.0),
        (wrap("B"), 2, 0.0),
    ],
)
def test_accuracy_mc(completion, solution, reward):
    assert accuracy_mc([completion], solution=[solution]) == [reward]


@pytest.mark.parametrize(
    ("completion", "solution", "reward"),
    [
        (wrap("\\frac{1}{2}"), "<answer>0.5</answer>", 1.0),
        (wrap("$\\frac{1}{2}$"), "<answer>1/2</answer>", 1.0),
        (wrap("x^2+1"), "<answer>1 + x^2</answer>", 1.0),
        (wrap("\\sqrt{2}"), "<answer>$\\sqrt{2}$</answer>", 1.0),
        (wrap("3"), "<answer>4</answer>", 0.0),
        (wrap("The result is\n\\boxed{42}"), "<answer>42</answer>", 1.0),  # multi-line
        (
            "<think>so 42</think><answer>41</answer>",
            "<answer>42</answer>",
            0.0,
        ),  # reasoning ignored
        ("the answer is 42", "<answer>42</answer>", 0.0),  # no answer block
        (wrap(""), "<answer>42</answer>", 0.0),
        (wrap("42"), "42", 1.0),
        (wrap("1+" * 50_000 + "1"), "<answer>42</answer>", 0.0),  # over the size cap
        (wrap("\\frac{"), "<answer>42</answer>", 0.0),
        (None, "<answer>42</answer>", 0.0),
        (wrap("42"), None, 0.0),
    ],
)
def test_accuracy_math(completion, solution, reward):
    assert accuracy_math([completion], solution=[solution]) == [reward]


def test_accuracy_math_cuts_expressions_that_make_sympy_run_for_ever():
    reward = math_accuracy_reward(time_limit_seconds=0.05)
    assert reward([wrap("10^{10^{10}}")], solution=["5"]) == [0.0]
    assert reward([wrap("5")], solution=["5"]) == [1.0]  # still sound after an interruption


def test_accuracy_math_runs_in_a_worker_thread():
    # Signals reach only the main thread: there the limit is off instead of crashing.
    results = []
    thread = threading.Thread(
        target=lambda: results.append(accuracy_math([wrap("0.5")], solution=["1/2"]))
    )
    thread.start()
    thread.join(timeout=30)
    assert results == [[1.0]]


def test_math_accuracy_reward_refuses_bad_limits():
    with pytest.raises(ValueError, match="time_limit_seconds"):
        math_accuracy_reward(time_limit_seconds=0)
    with pytest.raises(ValueError, match="max_answer_chars"):
        math_accuracy_reward(max_answer_chars=0)


@pytest.mark.parametrize("reward", [accuracy_mc, accuracy_math])
def test_batch_structure_errors_are_raised(reward):
    with pytest.raises(TypeError, match="solution"):
        reward([wrap("B")])
    with pytest.raises(ValueError, match="1 completions but 2 solutions"):
        reward([wrap("B")], solution=["B", "C"])
    with pytest.raises(TypeError, match="completions must be a list"):
        reward(None, solution=[])
