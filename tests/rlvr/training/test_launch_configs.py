"""The DeepSpeed launch configs that docs/TRAINING.md points to: TRL's, read by accelerate."""

from pathlib import Path

import pytest
import trl
from accelerate.commands.config.config_args import ClusterConfig
from accelerate.utils import DistributedType

CONFIGS = Path(trl.__file__).parent / "accelerate_configs"


@pytest.mark.parametrize(("name", "stage"), [("zero1", 1), ("zero2", 2), ("zero3", 3)])
def test_trl_ships_deepspeed_configs_that_accelerate_reads(name, stage):
    config = ClusterConfig.from_yaml_file(str(CONFIGS / f"{name}.yaml"))
    assert config.distributed_type == DistributedType.DEEPSPEED
    assert config.deepspeed_config["zero_stage"] == stage
    assert config.mixed_precision == "bf16"
    if stage == 3:  # the final model is saved whole, so that it loads for evaluation
        assert config.deepspeed_config["zero3_save_16bit_model"] is True
