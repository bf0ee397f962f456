"""A small byte-level BPE tokenizer in Qwen2's format, trained locally on a synthetic corpus.

The pipeline is Qwen2's (NFC normalizer, Qwen2's split regex, byte-level pre-tokenizer and
decoder, digits split one by one), so any text encodes; the vocabulary is small and learned from
text that looks like our tasks: chat prompts, ``<think>``/``<answer>`` tags, option letters,
boxes ``[12, 340, 560, 780]``, detection lists, "No Objects", colours, shapes and positions.
Qwen2-VL's special tokens (`rlvr.models.qwen2vl_tokens`) follow the BPE vocabulary, and the
chat template is Qwen2-VL's.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import Qwen2Tokenizer

from rlvr.domains.synthetic.answers import reference_completion
from rlvr.domains.synthetic.tasks import get_task, task_names
from rlvr.models.qwen2vl_tokens import (
    ENDOFTEXT,
    IM_END,
    QWEN2VL_CHAT_TEMPLATE,
    QWEN2VL_SPECIAL_TOKENS,
)

# Qwen2's pre-tokenization regex (transformers/models/qwen2/tokenization_qwen2.py).
_QWEN2_SPLIT_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)

_COLOURS = ("red", "green", "blue", "yellow", "orange", "purple", "black", "white", "gray")
_SHAPES = ("circle", "square", "triangle", "rectangle", "star", "cross", "diamond", "ellipse")
_POSITIONS = ("left", "right", "above", "below", "top", "bottom", "center", "corner", "next to")
_SIZES = ("small", "large", "big", "tiny")
_LETTERS = ("A", "B", "C", "D", "E")
_MC_SUFFIX = (
    "  Output the thinking process in <think> </think> and final answer (option) in "
    "<answer> </answer> tags."
)


def _box(rng: random.Random) -> str:
    x1, y1 = rng.randrange(0, 900), rng.randrange(0, 900)
    return f"[{x1}, {y1}, {rng.randrange(x1 + 1, 1001)}, {rng.randrange(y1 + 1, 1001)}]"


def _thing(rng: random.Random) -> str:
    return f"{rng.choice(_SIZES)} {rng.choice(_COLOURS)} {rng.choice(_SHAPES)}"


def _sample_texts(rng: random.Random) -> Iterator[str]:
    """One of each kind of text of the tasks, drawn with ``rng``."""
    # The chat template's text between its special tokens (those are added tokens, not BPE).
    yield "system\nYou are a helpful assistant.\nuser\nLook at the picture.\nassistant\n"
    a, b = _thing(rng), _thing(rng)
    letter = rng.choice(_LETTERS)
    options = " ".join(f"({c}) {_thing(rng)}" for c in _LETTERS[: rng.randint(2, 5)])
    yield (f"Which shape is {rng.choice(_POSITIONS)} of the {a}? Options: {options}{_MC_SUFFIX}")
    yield (
        f"<think> The {a} is {rng.choice(_POSITIONS)} of the {b}, so the answer is {letter}. "
        f"</think> <answer> {letter} </answer>"
    )
    yield f"<answer>({letter})</answer> <answer>{letter}.</answer> <answer>[{letter}]</answer>"
    x, y = rng.randrange(0, 100), rng.randrange(1, 100)
    op = rng.choice("+-*/")
    yield f"What is {x} {op} {y}? <think> {x} {op} {y} = ? </think> <answer> {x + y} </answer>"
    yield (
        f"Please output the bounding box of the {a} in the image as [x1, y1, x2, y2] "
        f"with coordinates from 0 to 1000. <answer> {_box(rng)} </answer>"
    )
    boxes = ", ".join(
        f"{{'Position': {_box(rng)}, 'Confidence': {rng.randint(1, 99) / 100}}}"
        for _ in range(rng.randint(1, 3))
    )
    yield f"Detect all {rng.choice(_SHAPES)}s in the image. <answer> [{boxes}] </answer>"
    yield "<think> There is no such object in the image. </think> <answer> No Objects </answer>"
    yield f"How many {rng.choice(_COLOURS)} {rng.choice(_SHAPES)}s are there? {rng.randrange(10)}"


def _synthetic_task_texts(rng: random.Random) -> Iterator[str]:
    """One problem (as prompted) and its reference completion per synthetic task
    (`rlvr.domains.synthetic`), drawn with ``rng``."""
    for name in task_names():
        task = get_task(name)
        record = task.generate(rng)
        suffix = _MC_SUFFIX if task.answer_type == "option_letter" else ""
        yield record.problem + suffix
        yield reference_completion(record)


def synthetic_corpus(n_samples: int, *, seed: int) -> list[str]:
    """``n_samples`` rounds of task-like texts, reproducible for ``seed``: 9 generic texts and
    2 per synthetic task (its problem and a reference completion) per round."""
    rng = random.Random(seed)
    return [
        text
        for _ in range(n_samples)
        for text in (*_sample_texts(rng), *_synthetic_task_texts(rng))
    ]


def train_tiny_qwen2_tokenizer(
    *, vocab_size: int, corpus_samples: int, corpus_seed: int
) -> Qwen2Tokenizer:
    """Train a byte-level BPE of ``vocab_size`` tokens and wrap it as a ``Qwen2Tokenizer``.

    Args:
        vocab_size: BPE vocabulary size, including the 256 byte tokens and ``<|endoftext|>``;
            the Qwen2-VL special tokens are added after it (14 more ids, ``<|endoftext|>``
            shared).
        corpus_samples: rounds of `synthetic_corpus`.
        corpus_seed: seed of the corpus (the BPE training itself is deterministic).

    Returns:
        A tokenizer with ``eos_token`` ``<|im_end|>`` (the chat turn end), ``pad_token``
        ``<|endoftext|>``, Qwen2-VL's special tokens and chat template.

    Raises:
        ValueError: if ``vocab_size`` cannot hold the 256 byte tokens.
    """
    if vocab_size <= 256:
        raise ValueError(f"vocab_size must exceed the 256 byte tokens, got {vocab_size}")
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[ENDOFTEXT],
        show_progress=False,
    )
    bpe.train_from_iterator(synthetic_corpus(corpus_samples, seed=corpus_seed), trainer)
    trained = json.loads(bpe.to_str())["model"]
    # Qwen2Tokenizer rebuilds Qwen2's exact pipeline around this vocabulary and these merges.
    tokenizer = Qwen2Tokenizer(
        vocab=trained["vocab"],
        merges=[tuple(merge) for merge in trained["merges"]],
        unk_token=ENDOFTEXT,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        extra_special_tokens=[t for t in QWEN2VL_SPECIAL_TOKENS if t != ENDOFTEXT],
        model_max_length=32768,
    )
    tokenizer.chat_template = QWEN2VL_CHAT_TEMPLATE
    return tokenizer
