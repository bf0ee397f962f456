"""The training step of a checkpoint folder."""

import json

from evaluators import checkpoint_step


def test_step_from_name_trainer_state_or_train_result(tmp_path):
    assert checkpoint_step(tmp_path / "checkpoint-120") == 120
    state = tmp_path / "saved"
    state.mkdir()
    (state / "trainer_state.json").write_text(json.dumps({"global_step": 7}))
    assert checkpoint_step(state) == 7
    final = tmp_path / "run" / "final"
    final.mkdir(parents=True)
    (tmp_path / "run" / "train_result.json").write_text(json.dumps({"steps": 30}))
    assert checkpoint_step(final) == 30


def test_unknown_step_is_none(tmp_path):
    (tmp_path / "trainer_state.json").write_text("{broken")
    assert checkpoint_step(tmp_path) is None
    assert checkpoint_step("Qwen/Qwen2-VL-2B-Instruct") is None
    (tmp_path / "final").mkdir()
    (tmp_path / "train_result.json").write_text(json.dumps({"steps": True}))
    assert checkpoint_step(tmp_path / "final") is None
