"""evaluators: scoring checkpoints in-domain and out-of-domain (``mixopt eval``).

`evaluate_checkpoint` scores a checkpoint on the test splits of registered domains and returns
an `EvalResult` (``eval.json``); `evaluators.objectives` aggregates scores into the reference's
In-Score / Out-Score and across checkpoints. Never imports `mixopt` or `studies`.
"""

from evaluators.checkpoint import checkpoint_step
from evaluators.errors import (
    EvaluationError,
    GeneratorUnavailableError,
    NoTestSplitError,
    NothingScoredError,
    ObjectiveError,
    ResultFileError,
    UnknownBenchmarkError,
)
from evaluators.generation import GenerationSettings, Generator, HFGenerator, select_backend
from evaluators.objectives import (
    across_checkpoints,
    in_score,
    objectives_of,
    out_score,
    weighted_score,
)
from evaluators.result import (
    RESULT_FILE,
    BenchmarkScore,
    EvalResult,
    read_result,
    write_result,
)
from evaluators.samples import SampleOutput, read_samples, samples_path_for, write_samples
from evaluators.scoring import TaskScorer, standard_error, task_scorer
from evaluators.tracking import eval_metrics, log_eval_result
from evaluators.verifiable import (
    BenchmarkRun,
    benchmark_names,
    evaluate_checkpoint,
    evaluate_with,
    resolve_benchmarks,
    score_benchmark,
)
from evaluators.vllm_generator import VLLMGenerator

__all__ = [
    "RESULT_FILE",
    "BenchmarkRun",
    "BenchmarkScore",
    "EvalResult",
    "EvaluationError",
    "GenerationSettings",
    "Generator",
    "GeneratorUnavailableError",
    "HFGenerator",
    "NoTestSplitError",
    "NothingScoredError",
    "ObjectiveError",
    "ResultFileError",
    "SampleOutput",
    "TaskScorer",
    "UnknownBenchmarkError",
    "VLLMGenerator",
    "across_checkpoints",
    "benchmark_names",
    "checkpoint_step",
    "eval_metrics",
    "evaluate_checkpoint",
    "evaluate_with",
    "in_score",
    "log_eval_result",
    "objectives_of",
    "out_score",
    "read_result",
    "read_samples",
    "resolve_benchmarks",
    "samples_path_for",
    "score_benchmark",
    "select_backend",
    "standard_error",
    "task_scorer",
    "weighted_score",
    "write_result",
    "write_samples",
]
