"""The model card of a trained run: the base model and the mixture, not TRL's "None" links.

TRL writes a ``README.md`` into the output folder at every checkpoint from the hub id of the
base model; a model loaded from a local folder has none, so its card says "fine-tuned version
of [None](https://huggingface.co/None)". `model_card` writes what the job knows instead.
"""

from __future__ import annotations

from pathlib import Path

from rlvr.atomic_write import write_text_atomic
from rlvr.job import TrainJob

CARD_FILE = "README.md"


def model_card(job: TrainJob) -> str:
    """A markdown model card of ``job``: base model, mixture weights, budget and GRPO settings."""
    grpo = job.grpo
    rows = "\n".join(f"| {name} | {weight:.6g} |" for name, weight in job.domains.items())
    steps = f", at most {job.max_steps} steps" if job.max_steps is not None else ""
    return (
        "---\n"
        f"base_model: {job.model}\n"
        "library_name: transformers\n"
        "tags: [grpo, trl, rlvr, mixopt]\n"
        "---\n\n"
        f"# {job.output_dir.name}\n\n"
        f"A GRPO fine-tune (TRL) of `{job.model}` on a fixed mixture of {len(job.domains)} "
        f"domains: {job.budget} training prompts{steps}, seed {job.seed}.\n\n"
        "| domain | weight |\n|---|---|\n"
        f"{rows}\n\n"
        f"GRPO: learning rate {grpo.learning_rate:g}, {grpo.num_generations} completions per "
        f"prompt of at most {grpo.max_completion_length} tokens, beta {grpo.beta:g}.\n"
        "The whole job is in `train_job.yaml` beside the checkpoints; rerun it with "
        "`mixopt train train_job.yaml`.\n"
    )


def write_model_card(folder: Path, job: TrainJob) -> Path:
    """Write `model_card` of ``job`` to ``folder/README.md`` (atomically); its path."""
    return write_text_atomic(Path(folder) / CARD_FILE, model_card(job))
