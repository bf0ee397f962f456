"""Accuracy rewards: the option letter (``accuracy_mc``) and math equivalence (``accuracy_math``).

Both read the completion's last ``<answer>`` block only (never the reasoning): a completion
without a complete block scores 0.0, unlike the reference, which fell back to the whole text.
"""

from __future__ import annotations

from collections.abc import Sequence

from rlvr.rewards.parsing import answer_content, parse_option_letter, solution_answer
from rlvr.rewards.reward_fn import RewardFn, score_each
from rlvr.rewards.time_limit import TimeLimitExceeded, time_limit

# Math answers are short; a longer <answer> is refused before sympy sees it.
MATH_MAX_ANSWER_CHARS = 300
# Per completion (parse + comparison). Tiny inputs such as 10^{10^{10}} make sympy run for
# ever; legitimate answers take milliseconds to tens of milliseconds.
MATH_TIME_LIMIT_SECONDS = 0.2
_DELIMITERS = ("$", "\\(", "\\[")


def accuracy_mc(
    completions: Sequence[object], solution: Sequence[object] | None = None, **columns: object
) -> list[float]:
    """1.0 where the option letter in ``<answer>`` equals the solution's letter, else 0.0.

    Letters are read by `parse_option_letter` on both sides (``B``, ``(B)``, ``B.``,
    ``B) text``, ``[B]``, ``Answer: B``; lower case too) and compared upper-cased.

    Raises:
        TypeError, ValueError: the batch structure is wrong (see `score_each`).
    """
    return score_each("accuracy_mc", _score_mc, completions, solution)


def _score_mc(text: str, solution: object) -> float:
    predicted = parse_option_letter(answer_content(text))
    truth = parse_option_letter(solution_answer(solution))
    return float(predicted is not None and predicted == truth)


def math_accuracy_reward(
    time_limit_seconds: float | None = MATH_TIME_LIMIT_SECONDS,
    max_answer_chars: int = MATH_MAX_ANSWER_CHARS,
) -> RewardFn:
    """An ``accuracy_math`` reward with its own limits (the registered one uses the defaults).

    The reward is 1.0 where math-verify finds the ``<answer>`` content equivalent to the
    solution's answer, else 0.0. Contents without math delimiters are read as LaTeX math
    (wrapped in ``$...$``), so ``x^2+1`` and ``\\frac{1}{2}`` parse.

    Time limit: math-verify's own timeouts (``parsing_timeout``, ``timeout_seconds``) use
    ``signal.alarm``, whole seconds per call (several calls per completion), and raise in any
    thread but the main one. They are turned off (None) and one sub-second `time_limit` covers
    each completion instead; a completion over it scores 0.0. That limit, too, works only in
    the main thread (where TRL computes rewards): in another thread only ``max_answer_chars``
    bounds the cost, and an expression like ``10^{10^{10}}`` can then run for a long time.

    Args:
        time_limit_seconds: per completion (None: no limit).
        max_answer_chars: answers longer than this score 0.0 without being parsed.

    Raises:
        ValueError: a non-positive limit.
    """
    if time_limit_seconds is not None and not time_limit_seconds > 0:
        raise ValueError(f"time_limit_seconds must be positive, got {time_limit_seconds}")
    if max_answer_chars < 1:
        raise ValueError(f"max_answer_chars must be positive, got {max_answer_chars}")
    warm = False

    def accuracy_math(
        completions: Sequence[object], solution: Sequence[object] | None = None, **columns: object
    ) -> list[float]:
        """1.0 where the ``<answer>`` content is mathematically equivalent to the solution.

        Raises:
            TypeError, ValueError: the batch structure is wrong (see `score_each`).
        """
        nonlocal warm
        if not warm:
            _warm_up_math_verify()
            warm = True
        gold_by_solution: dict[str, list] = {}  # a GRPO batch repeats each solution

        def score(text: str, cell: object) -> float:
            content = answer_content(text)
            gold_text = solution_answer(cell)
            if not _worth_parsing(content, max_answer_chars):
                return 0.0
            if not _worth_parsing(gold_text, max_answer_chars):
                return 0.0
            try:
                with time_limit(time_limit_seconds):
                    if gold_text not in gold_by_solution:
                        gold_by_solution[gold_text] = _parse_math(gold_text)
                    return float(_equivalent(gold_by_solution[gold_text], _parse_math(content)))
            except TimeLimitExceeded:
                return 0.0

        return score_each("accuracy_math", score, completions, solution)

    return accuracy_math


def _warm_up_math_verify() -> None:
    """Run math-verify once without a time limit.

    Its first parse builds grammars and caches (60-300 ms); a time limit that interrupts that
    leaves them broken for the rest of the process (every later parse then fails).
    """
    _equivalent(_parse_math("\\frac{x^2+1}{2}"), _parse_math("(1+x^{2})/2"))


def _worth_parsing(content: str | None, max_chars: int) -> bool:
    return content is not None and 0 < len(content) <= max_chars


def _equivalent(gold: list, predicted: list) -> bool:
    from math_verify import verify

    return bool(gold) and bool(predicted) and verify(gold, predicted, timeout_seconds=None)


def _parse_math(content: str) -> list:
    """math-verify's parse of an answer (empty when it finds nothing)."""
    from math_verify import parse  # imported on first use: it loads sympy (about 1 s)

    if not any(d in content for d in _DELIMITERS):
        parsed = parse(f"${content}$", parsing_timeout=None)
        if parsed:
            return parsed
    return parse(content, parsing_timeout=None)


accuracy_math = math_accuracy_reward()
