"""The job -> GRPOConfig / LoraConfig mapping, for every backend, on CPU."""

import importlib.util

import pytest

from rlvr.job import TrainJob
from rlvr.training import (
    GenerationBackendUnavailableError,
    grpo_config,
    grpo_config_options,
    lora_config,
    require_generation_backend,
)


def job(tmp_path, **fields) -> TrainJob:
    data = {"model": "some/model", "domains": {"sat": 1.0}, "budget": 12,
            "output_dir": str(tmp_path)}
    data.update(fields)
    return TrainJob.model_validate(data)


def test_grpo_settings_map_to_trl_on_cpu(tmp_path):
    config = grpo_config(job(tmp_path, seed=7, save_steps=5, max_steps=9), cuda=False)
    assert config.use_cpu and not config.bf16 and not config.gradient_checkpointing
    assert config.learning_rate == 1e-6 and config.warmup_steps == pytest.approx(0.1)
    assert config.lr_scheduler_type == "linear" and config.beta == 0.04
    assert config.num_generations == 6 and config.per_device_train_batch_size == 6
    assert config.steps_per_generation == 1 and config.max_completion_length == 1024
    assert config.temperature == 1.0 and config.seed == 7
    assert config.save_steps == 5 and config.max_steps == 9 and config.output_dir == str(tmp_path)
    assert config.report_to == [] and not config.shuffle_dataset and not config.use_vllm


def _checkpointing(options):
    return options.get("activation_checkpointing", options.get("gradient_checkpointing"))


def test_gpu_defaults_are_the_throughput_configuration_unless_the_job_says(tmp_path):
    # Options only: transformers refuses bf16 where there is no GPU.
    options = grpo_config_options(job(tmp_path), cuda=True)
    assert options["bf16"] and not options["use_cpu"]
    assert not _checkpointing(options)  # hf generation on a GPU: no checkpointing
    assert options["cache_implementation"] == "static"  # + compiled decoding in run_training
    # 6 completions per pass -> 22 passes give >= 128 completions in whole groups of 6.
    assert options["steps_per_generation"] == 22
    off = grpo_config(job(tmp_path, grpo={"bf16": False, "gradient_checkpointing": True,
                                          "steps_per_generation": 1},
                          generation={"compile_decoding": False}), cuda=True)
    assert not off.bf16 and off.steps_per_generation == 1
    assert off.cache_implementation is None
    assert _checkpointing(off.to_dict()) or off.gradient_checkpointing


def test_cpu_and_vllm_keep_trl_defaults_for_generation(tmp_path):
    cpu = grpo_config_options(job(tmp_path), cuda=False)
    assert cpu["steps_per_generation"] == 1 and "cache_implementation" not in cpu
    vllm = grpo_config_options(job(tmp_path, generation={"backend": "vllm-colocate"}), cuda=True)
    assert vllm["steps_per_generation"] == 1 and _checkpointing(vllm)
    assert "cache_implementation" not in vllm


@pytest.mark.parametrize(("pdb", "procs", "gens", "ga"),
                         [(6, 1, 6, 1), (16, 1, 8, 1), (4, 4, 6, 3), (7, 1, 7, 1), (3, 2, 6, 5)])
def test_gpu_steps_per_generation_is_the_least_that_fills_whole_groups(tmp_path, pdb, procs,
                                                                       gens, ga):
    from rlvr.job import GPU_GENERATION_BATCH, GRPOSettings

    grpo = GRPOSettings(per_device_train_batch_size=pdb, num_processes=procs,
                        num_generations=gens, gradient_accumulation_steps=ga)

    def fits(steps: int) -> bool:  # each GPU decodes >= the target, in whole groups overall
        return pdb * steps >= GPU_GENERATION_BATCH and (pdb * procs * steps) % gens == 0

    steps = grpo.gpu_steps_per_generation()
    assert steps % ga == 0 and fits(steps)
    assert not any(fits(k) for k in range(ga, steps, ga))
    assert GRPOSettings(steps_per_generation=2).gpu_steps_per_generation() == 2
    assert grpo_config(job(tmp_path), cuda=False).max_steps == -1  # one pass over the budget


def test_vllm_backends_map_to_trl_vllm_modes(tmp_path):
    colocate = grpo_config(
        job(tmp_path, generation={"backend": "vllm-colocate", "gpu_memory_utilization": 0.5}),
        cuda=False,
    )
    assert colocate.use_vllm and colocate.vllm_mode == "colocate"
    assert colocate.vllm_gpu_memory_utilization == 0.5
    assert colocate.vllm_enable_sleep_mode is False
    sleeping = grpo_config(
        job(tmp_path, generation={"backend": "vllm-colocate", "sleep_mode": True}), cuda=False
    )
    assert sleeping.vllm_enable_sleep_mode is True
    server = grpo_config(
        job(tmp_path, generation={"backend": "vllm-server", "vllm_server_host": "10.0.0.2",
                                  "vllm_server_port": 8123}),
        cuda=False,
    )
    assert server.use_vllm and server.vllm_mode == "server"
    assert (server.vllm_server_host, server.vllm_server_port) == ("10.0.0.2", 8123)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
@pytest.mark.parametrize("backend", ["vllm-colocate", "vllm-server"])
def test_vllm_backend_without_vllm_says_how_to_install(tmp_path, backend):
    with pytest.raises(GenerationBackendUnavailableError) as caught:
        require_generation_backend(job(tmp_path, generation={"backend": backend}))
    message = str(caught.value)
    assert "\n" not in message and "pip install 'mixopt[gpu]'" in message and backend in message
    require_generation_backend(job(tmp_path))  # hf needs nothing


def test_lora_maps_to_peft(tmp_path):
    assert lora_config(job(tmp_path)) is None
    config = lora_config(job(tmp_path, lora={"r": 4, "alpha": 8, "target_modules": ["q_proj"]}))
    assert (config.r, config.lora_alpha, set(config.target_modules)) == (4, 8, {"q_proj"})
    assert lora_config(job(tmp_path, lora={"target_modules": "all-linear"})).target_modules == (
        "all-linear"
    )
