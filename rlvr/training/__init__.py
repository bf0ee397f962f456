"""Training: a `TrainJob` run with TRL's `GRPOTrainer` (``mixopt train JOB.yaml``).

`run_training` is the recipe; the modules are its parts: `grpo_config` (job -> TRL/peft
configs), `dataset` (the mixed prompts), `reward` (one reward dispatching by domain),
`tracking` (MLflow with explicit run ids), `result` (``train_result.json``).
"""

from rlvr.training.checkpoint_hook import CheckpointHookCallback, CheckpointHookError
from rlvr.training.dataset import TrainingData, build_training_data, job_registry
from rlvr.training.errors import (
    GenerationBackendUnavailableError,
    OutputDirConflictError,
    ProcessCountError,
    TrainingError,
    TrainingOutOfMemoryError,
)
from rlvr.training.grpo_config import (
    grpo_config,
    grpo_config_options,
    lora_config,
    require_generation_backend,
)
from rlvr.training.result import (
    RESULT_FILE,
    ResultFileError,
    TrainResult,
    read_result,
    write_result,
)
from rlvr.training.reward import REWARD_NAME, domain_reward
from rlvr.training.run import FINAL_DIR, JOB_RECORD, freeze_vision_tower, run_training

__all__ = [
    "FINAL_DIR",
    "JOB_RECORD",
    "RESULT_FILE",
    "REWARD_NAME",
    "CheckpointHookCallback",
    "CheckpointHookError",
    "GenerationBackendUnavailableError",
    "OutputDirConflictError",
    "ProcessCountError",
    "ResultFileError",
    "TrainResult",
    "TrainingData",
    "TrainingError",
    "TrainingOutOfMemoryError",
    "build_training_data",
    "domain_reward",
    "freeze_vision_tower",
    "grpo_config",
    "grpo_config_options",
    "job_registry",
    "lora_config",
    "read_result",
    "require_generation_backend",
    "run_training",
    "write_result",
]
