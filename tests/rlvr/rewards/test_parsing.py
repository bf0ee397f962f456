import pytest

from rlvr.rewards.boxes import Box
from rlvr.rewards.parsing import (
    Detection,
    answer_content,
    completion_text,
    parse_box,
    parse_detections,
    parse_option_letter,
    solution_answer,
)


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        ("plain", "plain"),
        ([{"role": "assistant", "content": "hi"}], "hi"),
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "a"),
        ([{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}], "a"),
        ([{"content": "no role"}], "no role"),
        ({"role": "assistant", "content": "one message"}, "one message"),
        (
            [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "image"}]}],
            "a",
        ),
        ([{"role": "assistant", "content": [{"type": "text", "text": "a"}, "b"]}], "ab"),
        ([{"role": "assistant", "content": [{"type": "image"}]}], None),
        ([{"role": "assistant", "content": None}], None),
        ([{"role": "user", "content": "q"}], None),
        ([], None),
        (None, None),
        (42, None),
        ([1, [2]], None),
    ],
)
def test_completion_text(completion, text):
    assert completion_text(completion) == text


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("<think>t</think><answer>B</answer>", "B"),
        ("<answer>\n line 1\n line 2 \n</answer>", "line 1\n line 2"),
        ("<ANSWER>B</Answer>", "B"),
        ("<answer>1</answer> then <answer>2</answer>", "2"),
        ("<think>use <answer>x</answer></think><answer>y</answer>", "y"),
        ("<answer>1</answer><answer>2", "1"),
        ("<answer></answer>", ""),
        ("no tags", None),
        ("<answer>unclosed", None),
        ("</answer>closed only", None),
        ("</answer><answer>", None),
        ("İİ<answer>B</answer>", "B"),  # İ.lower() has 2 characters: no index arithmetic on it
        (None, None),
        (3, None),
    ],
)
def test_answer_content(text, content):
    assert answer_content(text) == content


@pytest.mark.parametrize(
    ("solution", "answer"),
    [
        ("<answer> B </answer>", "B"),
        ("  B  ", "B"),
        ("[1, 2, 3, 4]", "[1, 2, 3, 4]"),
        ("<answer>B", None),
        (None, None),
        (["B"], None),
    ],
)
def test_solution_answer(solution, answer):
    assert solution_answer(solution) == answer


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("B", "B"),
        ("b", "B"),
        ("(B)", "B"),
        ("(b)", "B"),
        ("[B]", "B"),
        ("{B}", "B"),
        ("B.", "B"),
        ("B) 3 cm", "B"),
        ("B: because", "B"),
        ("B, since", "B"),
        ("B\nbecause the angle", "B"),
        ("(C) 45 degrees", "C"),
        ("Answer: B", "B"),
        ("answer:b", "B"),
        ("The answer is B", "B"),
        ("The correct answer is (C)", "C"),
        ("Option D", "D"),
        ("**D**", "D"),
        ("'E'", "E"),
        ("  A  ", "A"),
        ("a triangle", None),
        ("A triangle", None),
        ("I think B", None),
        ("Answer", None),
        ("BC", None),
        ("", None),
        ("(1)", None),
        (None, None),
    ],
)
def test_parse_option_letter(text, letter):
    assert parse_option_letter(text) == letter


@pytest.mark.parametrize(
    ("text", "box"),
    [
        ("[1, 2, 300, 400]", Box(1, 2, 300, 400)),
        ("[1.5,2.25,300.0,4e2]", Box(1.5, 2.25, 300, 400)),
        ("the box is [0, 0, 1000, 1000].", Box(0, 0, 1000, 1000)),
        ('{"bbox_2d": [10, 20, 30, 40]}', Box(10, 20, 30, 40)),
        ("[1, 2, 3, 4] and [5, 6, 7, 8]", Box(1, 2, 3, 4)),
        ("[1, 2, 1, 4]", None),  # degenerate
        ("[3, 2, 1, 4]", None),  # x1 > x2
        ("[1, 2, 3, 1001]", None),
        ("[-1, 2, 3, 4]", None),
        ("[1, 2, 3]", None),
        ("[nan, 2, 3, 4]", None),
        ("[1e999, 2, 3, 4]", None),
        ("[" + "1" * 5000 + ", 2, 3, 4]", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_box(text, box):
    assert parse_box(text) == box


P1 = "{'Position': [10, 10, 110, 110], 'Confidence': 0.9}"
P2 = '{"Position": [200, 200, 300, 300], "Confidence": 0.4}'


@pytest.mark.parametrize(
    ("text", "detections"),
    [
        (f"[{P1}, {P2}]", [(Box(10, 10, 110, 110), 0.9), (Box(200, 200, 300, 300), 0.4)]),
        (P1, [(Box(10, 10, 110, 110), 0.9)]),
        ("[[1, 2, 3, 4]]", [(Box(1, 2, 3, 4), 0.0)]),
        ("[1, 2, 3, 4]", [(Box(1, 2, 3, 4), 0.0)]),
        ("[{'position': [1, 2, 3, 4], 'confidence': 1}]", [(Box(1, 2, 3, 4), 1.0)]),
        ("[{'Position': [1, 2, 3, 4]}]", [(Box(1, 2, 3, 4), 0.0)]),
        ("[{'Position': [1, 2, 3, 4], 'Confidence': NaN}]", [(Box(1, 2, 3, 4), 0.0)]),
        ("[{'Position': [1, 2, 3, 2000], 'Confidence': 1}]", [(None, 1.0)]),
        ("[{'label': 'cat'}, 7]", [(None, 0.0), (None, 0.0)]),
        ("No Objects", []),
        ("no objects.", []),
        ("[]", []),
        # prose around the list, and an apostrophe that breaks the quote normalisation
        (f"Here: [{P1}] it's done", [(Box(10, 10, 110, 110), 0.9)]),
        # cut off mid-way: the complete entries are kept
        (
            f"[{P1}, {P2}, {{'Position': [5, 6,",
            [(Box(10, 10, 110, 110), 0.9), (Box(200, 200, 300, 300), 0.4)],
        ),
        (f"[{P1}, {{'Position': [5, 6, 7, 8], 'Confidence': 0.5", [(Box(10, 10, 110, 110), 0.9)]),
        ("[{'Position': [5, 6,", None),
        ("[" * 100_000, None),
        ("cats", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_detections(text, detections):
    expected = None if detections is None else [Detection(*d) for d in detections]
    assert parse_detections(text) == expected
