"""Time every built-in reward on adversarial 100 KB completions.

Usage: ``python benchmarks/reward_speed.py [--size 100000] [--repeats 7]``.
Prints, for each reward and each kind of completion, the median wall-clock milliseconds of
scoring one completion over the repeats (target: well under 50 ms). The first call of
``accuracy_math`` (importing sympy, warming math-verify) is made before timing. Short math
answers that make sympy explode are bounded by ``accuracy_math``'s time limit (0.2 s), not by
their size.
"""

from __future__ import annotations

import argparse
import statistics
import time

from rlvr import rewards

SOLUTIONS = {
    "format": "<answer>B</answer>",
    "accuracy_mc": "<answer>B</answer>",
    "accuracy_math": "<answer>\\frac{1}{2}</answer>",
    "iou_grounding": "<answer>[10, 20, 300, 400]</answer>",
    "iou_detection": "<answer>[{'Position': [10, 20, 300, 400], 'Confidence': 1}]</answer>",
}


def adversarial_completions(size: int) -> dict[str, str]:
    """Completions of about ``size`` characters that stress tag search, regexes and parsers."""
    box = "{'Position': [10, 20, 300, 400], 'Confidence': 0.9}, "
    return {
        "plain text": "x" * size,
        "think only": "<think>" + "reasoning 1 + 1 = 2. " * (size // 21) + "</think>",
        "repeated open tags": "<think><answer>" * (size // 15),
        "repeated close tags": "</think></answer>" * (size // 17),
        "long answer": "<think>t</think><answer>" + "1+" * (size // 2) + "1</answer>",
        "digits in brackets": "<think>t</think><answer>[" + "1" * size + "</answer>",
        "nested brackets": "<think>t</think><answer>" + "[" * size + "</answer>",
        "many boxes": "<think>t</think><answer>[" + box * (size // len(box)) + "</answer>",
        "truncated boxes": "<think>t</think><answer>[" + box * (size // len(box)) + "{'Pos",
        "braces": "<think>t</think><answer>" + "{" * size + "</answer>",
        "unicode": "<think>" + "İ" * size + "</think><answer>B</answer>",
        "deep math (300 chars)": "<think>t</think><answer>"
        + "10^{" * 48
        + "10"
        + "}" * 48
        + "</answer>",
        "power tower (12 chars)": "<think>" + "t" * size + "</think><answer>10^{10^{10}}</answer>",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="characters per completion")
    parser.add_argument("--repeats", type=int, default=7, help="repeats; the median is shown")
    args = parser.parse_args()

    completions = adversarial_completions(args.size)
    rewards.get("accuracy_math")(["<answer>1</answer>"], solution=["1"])  # warm-up import
    width = max(len(kind) for kind in completions)
    print(f"median ms per completion over {args.repeats} repeats (size {args.size} chars)")
    print(f"{'completion':<{width}}  " + "  ".join(f"{n:>13}" for n in SOLUTIONS))
    worst = 0.0
    for kind, completion in completions.items():
        row = []
        for name, solution in SOLUTIONS.items():
            reward = rewards.get(name)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                reward([completion], solution=[solution])
                times.append(time.perf_counter() - start)
            median_ms = 1000 * statistics.median(times)
            worst = max(worst, median_ms)
            row.append(f"{median_ms:13.2f}")
        print(f"{kind:<{width}}  " + "  ".join(row))
    print(f"worst median: {worst:.2f} ms")


if __name__ == "__main__":
    main()
