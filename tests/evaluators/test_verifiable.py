"""The verifiable evaluator: scripted completions for exact scores, the tiny model for the
real generation path (CPU, a few tokens)."""

import io

import pytest
import torch
from PIL import Image

from evaluators import (
    GenerationSettings,
    GeneratorUnavailableError,
    NoTestSplitError,
    NothingScoredError,
    UnknownBenchmarkError,
    benchmark_names,
    evaluate_checkpoint,
    evaluate_with,
    resolve_benchmarks,
    select_backend,
    verifiable,
)
from rlvr.domains import default_registry, synthetic_domains
from rlvr.domains.loading import BadRecordsWarning, TooManyBadRecordsError
from rlvr.models import ModelLoadError
from tests.evaluators.conftest import (
    BAD_BOX,
    BOX,
    BOX_TEST_SIZE,
    MC,
    MC_TEST_SIZE,
    TRAIN_ONLY,
    write_eval_domains,
)
from tests.rlvr.domains.standins import write_jsonl

GREEDY = GenerationSettings(max_new_tokens=6, batch_size=4)


class ScriptedGenerator:
    """Answers by prompt text: the right option for even questions, a half-overlapping box."""

    def __init__(self):
        self.calls = []

    def generate(self, prompts, images, *, seed=0):
        self.calls.append((len(prompts), seed))
        out = []
        for messages in prompts:
            text = messages[-1]["content"][1]["text"]
            if "Question" in text:
                number = int(text.split()[1])
                out.append(f"<think>t</think><answer>{'B' if number % 2 == 0 else 'A'}</answer>")
            else:  # truth [100, 200, 300, 400]; this box covers half of it
                out.append("<answer>[100, 200, 200, 400]</answer>")
        return out


@pytest.fixture(scope="module")
def registry(domain_file):
    return default_registry([domain_file])


def test_scripted_completions_give_exact_scores(registry):
    specs = resolve_benchmarks(registry, [MC, BOX])
    result, samples = evaluate_with(ScriptedGenerator(), specs, GREEDY, checkpoint="c", step=3)
    mc, box = result.benchmarks[MC], result.benchmarks[BOX]
    assert (mc.metric, mc.n, mc.score, mc.format_rate) == ("accuracy", MC_TEST_SIZE, 0.5, 1.0)
    assert mc.stderr == pytest.approx((0.25 / MC_TEST_SIZE) ** 0.5)
    assert (box.metric, box.n, box.score, box.stderr) == ("mean_iou", BOX_TEST_SIZE, 0.5, 0.0)
    assert box.format_rate == 0.0  # no <think>: reported, not gating the IoU
    assert result.objectives["in_score"] == pytest.approx(0.5)
    assert result.step == 3 and result.settings["limit"] is None
    assert len(samples) == MC_TEST_SIZE + BOX_TEST_SIZE
    first = samples[0]
    assert (first.prompt_id, first.answer, first.parsed, first.score) == ("toymc/0", "B", "B", 1.0)
    assert samples[-1].parsed == [100.0, 200.0, 200.0, 400.0]


def test_limit_and_skipped_records_are_counted(registry):
    specs = resolve_benchmarks(registry, [MC, BAD_BOX])
    with pytest.warns(BadRecordsWarning):
        result, _ = evaluate_with(ScriptedGenerator(), specs, GREEDY, checkpoint="c", limit=4,
                                  max_bad_fraction=0.5)
    assert result.benchmarks[MC].n == 4 and result.benchmarks[MC].n_skipped == 0
    assert result.benchmarks[BAD_BOX].n == 3 and result.benchmarks[BAD_BOX].n_skipped == 1
    with pytest.raises(TooManyBadRecordsError):  # 1 of 5 is over the default 1%
        evaluate_with(ScriptedGenerator(), specs[1:], GREEDY, checkpoint="c")


def test_sampling_seeds_follow_the_position_in_the_benchmark(registry, monkeypatch):
    monkeypatch.setattr(verifiable, "CHUNK_BATCHES", 2)
    generator = ScriptedGenerator()
    settings = GenerationSettings(do_sample=True, samples_per_prompt=2, batch_size=1, seed=10)
    result, samples = evaluate_with(generator, resolve_benchmarks(registry, [MC]), settings,
                                    checkpoint="c")
    # chunks of batch_size * 2 = 2 prompts (4 rows): seeds 10 + the first row's position
    assert generator.calls == [(4, 10), (4, 14), (4, 18)]
    assert result.benchmarks[MC].n == MC_TEST_SIZE and len(samples) == 2 * MC_TEST_SIZE
    assert result.benchmarks[MC].stderr == pytest.approx((0.25 / 5) ** 0.5)  # std over prompts


def test_benchmark_names_are_checked_first(registry):
    synthetic = {spec.name for spec in synthetic_domains()}
    assert set(benchmark_names(registry)) == {
        MC, BOX, BAD_BOX, "lisa", "sat", "scienceqa", *synthetic
    }
    with pytest.raises(UnknownBenchmarkError, match=r"unknown benchmark 'nope'; benchmarks: "):
        resolve_benchmarks(registry, ["nope"])
    with pytest.raises(NoTestSplitError, match=f"'{TRAIN_ONLY}' has no test split"):
        resolve_benchmarks(registry, [MC, TRAIN_ONLY])
    with pytest.raises(NoTestSplitError, match="'coco' has no test split"):
        resolve_benchmarks(registry, ["coco"])
    with pytest.raises(UnknownBenchmarkError, match="given twice"):
        resolve_benchmarks(registry, [MC, MC])


def truncated_png():
    buffer = io.BytesIO()
    Image.effect_noise((56, 56), 50).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()[:200]  # the header reads, the pixels do not


def test_a_benchmark_with_nothing_scorable_is_an_error_not_a_zero(tmp_path):
    rows = [{"image": truncated_png(), "problem": "where?", "solution": "<answer>[1, 2, 3, 4]"
             "</answer>"} for _ in range(2)]
    jsonl, images = write_jsonl(tmp_path / "broken", rows)
    folder = tmp_path / "domains"
    registry = default_registry([write_eval_domains(folder)])
    spec = registry.get(BOX).model_copy(update={
        "test_source": registry.get(BOX).test_source.model_copy(
            update={"path": jsonl, "image_dir": images})})
    with pytest.raises(NothingScoredError, match="all 2 test records were skipped"):
        evaluate_with(ScriptedGenerator(), [spec], GREEDY, checkpoint="c")


def test_tiny_model_greedy_is_deterministic_with_the_right_counts(tiny_model, registry):
    before = torch.get_rng_state()
    runs = [evaluate_checkpoint(tiny_model, [MC, BOX], registry, GREEDY, limit=3)
            for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), before)
    (first, first_samples), (second, second_samples) = runs
    assert first.benchmarks == second.benchmarks and first_samples == second_samples
    for name in (MC, BOX):
        bench = first.benchmarks[name]
        assert bench.n == 3 and 0.0 <= bench.score <= 1.0 and bench.n_skipped == 0
    assert first.checkpoint == str(tiny_model) and first.step is None


def test_tiny_model_sampling_repeats_for_a_seed_and_leaves_the_global_rng(tiny_model, registry):
    def completions(seed):
        settings = GenerationSettings(max_new_tokens=6, do_sample=True, samples_per_prompt=2,
                                      seed=seed, batch_size=4)
        _, samples = evaluate_checkpoint(tiny_model, [MC], registry, settings, limit=3)
        return [s.completion for s in samples]

    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = completions(0)
    assert torch.equal(torch.rand(1), expected_next)  # no leak into the global RNG
    assert completions(0) == first and len(first) == 6
    assert completions(1) != first


def test_missing_checkpoint_and_checkpoint_without_processor(tmp_path, tiny_model, registry):
    with pytest.raises(ModelLoadError, match="no model folder"):
        evaluate_checkpoint(tmp_path / "nowhere", [MC], registry, GREEDY)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "config.json").write_text((tiny_model / "config.json").read_text())
    with pytest.raises(ModelLoadError, match="holds no processor"):
        evaluate_checkpoint(bare, [MC], registry, GREEDY)


def test_vllm_backend_is_refused_with_a_clear_message():
    assert select_backend("auto") == "hf" and select_backend("hf") == "hf"
    with pytest.raises(GeneratorUnavailableError, match=r"(?i)vllm"):
        select_backend("vllm")
    with pytest.raises(ValueError, match="needs do_sample"):
        GenerationSettings(samples_per_prompt=2)
