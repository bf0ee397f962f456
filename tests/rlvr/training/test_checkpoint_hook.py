"""The job's checkpoint hook: a checkpoint saved at fractions of the run, a command run on each
while training waits, a failing command ends the run, a resumed run does not repeat a step."""

import json
import sys

import pytest
from pydantic import ValidationError

from rlvr.job import CheckpointHookSettings
from rlvr.training import CheckpointHookError, read_result, run_training
from rlvr.training.checkpoint_hook import hook_command, hook_steps
from tests.rlvr.training.conftest import tiny_job
from tests.rlvr.training.test_run import StopAtStep, digit_count

# Records its arguments and what the checkpoint folder holds at that moment, one JSON line each.
RECORDER = """
import json, os, sys
folder, step, fraction, out = sys.argv[1:5]
with open(out, "a") as f:
    f.write(json.dumps({"folder": folder, "step": int(step), "fraction": float(fraction),
                        "files": sorted(os.listdir(folder))}) + "\\n")
"""


def recorder(tmp_path):
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    out = tmp_path / "calls.jsonl"
    return (sys.executable, str(script), "{checkpoint}", "{step}", "{fraction}", str(out)), out


def calls(out):
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def test_steps_of_the_fractions_and_the_command():
    assert hook_steps((0.25, 0.5, 1.0), 8) == {2: [0.25], 4: [0.5], 8: [1.0]}
    assert hook_steps((0.1, 0.2, 0.5), 2) == {1: [0.1, 0.2, 0.5]}  # never step 0
    cmd = hook_command(("x", "--at={step}", "{checkpoint}", "{fraction}"), "/c/checkpoint-3",
                       3, 0.5)
    assert cmd == ["x", "--at=3", "/c/checkpoint-3", "0.5"]


def test_settings_refuse_bad_fractions_and_an_empty_command():
    with pytest.raises(ValidationError, match="fractions must increase"):
        CheckpointHookSettings(fractions=(0.5, 0.25), command=("x",))
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        CheckpointHookSettings(fractions=(1.5,), command=("x",))
    with pytest.raises(ValidationError, match="command"):
        CheckpointHookSettings(fractions=(0.5,), command=())


def test_the_command_runs_on_each_saved_checkpoint_while_training_waits(
        tiny_model, domain_file, mlflow_uri, tmp_path):
    command, out = recorder(tmp_path)
    job = tiny_job(tiny_model, domain_file, tmp_path / "out", max_steps=4, save_steps=100,
                   tracking={"mlflow_tracking_uri": mlflow_uri},
                   checkpoint_hook={"fractions": [0.25, 0.5], "command": list(command)})
    result = run_training(job, extra_rewards=[digit_count])
    assert result.complete and result.steps == 4
    seen = calls(out)
    assert [(c["step"], c["fraction"]) for c in seen] == [(1, 0.25), (2, 0.5)]
    for c in seen:
        assert c["folder"] == str(job.output_dir / f"checkpoint-{c['step']}")
        # A whole checkpoint when the command runs: model, processor and trainer state.
        assert {"config.json", "model.safetensors", "trainer_state.json"} <= set(c["files"])
        assert any(name.startswith(("tokenizer", "processor")) for name in c["files"])
        state = json.loads((job.output_dir / f"checkpoint-{c['step']}" /
                            "trainer_state.json").read_text())
        assert state["global_step"] == c["step"]


def test_a_failing_command_ends_the_run_and_a_resumed_run_hands_its_checkpoint_again(
        tiny_model, domain_file, mlflow_uri, tmp_path):
    fail = (sys.executable, "-c", "import sys; sys.exit(3)")
    job = tiny_job(tiny_model, domain_file, tmp_path / "out", max_steps=2, save_steps=100,
                   tracking={"mlflow_tracking_uri": mlflow_uri},
                   checkpoint_hook={"fractions": [0.5], "command": list(fail)})
    with pytest.raises(CheckpointHookError, match=r"exited with code 3 on .*checkpoint-1"):
        run_training(job, extra_rewards=[digit_count])
    assert not read_result(job.output_dir).complete
    # Resumed from the hook's checkpoint-1 (the hook may change between attempts): the
    # command gets that checkpoint before training goes on.
    command, out = recorder(tmp_path)
    fixed = job.model_copy(update={"checkpoint_hook": CheckpointHookSettings(
        fractions=(0.5,), command=command)})
    resumed = run_training(fixed, extra_rewards=[digit_count])
    assert resumed.complete and resumed.resumed_from == str(job.output_dir / "checkpoint-1")
    assert [(c["step"], c["fraction"]) for c in calls(out)] == [(1, 0.5)]


def test_a_resumed_run_does_not_repeat_earlier_hook_steps(tiny_model, domain_file, mlflow_uri,
                                                          tmp_path):
    # Killed at step 3 before its save: the resumed run starts from checkpoint-2 (the hook's
    # second), hands it over again, runs step 3 and not step 1 again.
    command, out = recorder(tmp_path)
    job = tiny_job(tiny_model, domain_file, tmp_path / "out", max_steps=4, save_steps=100,
                   tracking={"mlflow_tracking_uri": mlflow_uri},
                   checkpoint_hook={"fractions": [0.25, 0.5, 0.75], "command": list(command)})
    with pytest.raises(KeyboardInterrupt):
        run_training(job, extra_rewards=[digit_count], callbacks=[StopAtStep(3)])
    assert [c["step"] for c in calls(out)] == [1, 2]
    resumed = run_training(job, extra_rewards=[digit_count])
    assert resumed.complete and resumed.steps == 4
    assert resumed.resumed_from == str(job.output_dir / "checkpoint-2")
    assert [(c["step"], c["fraction"]) for c in calls(out)] == [
        (1, 0.25), (2, 0.5), (2, 0.5), (3, 0.75)]
