"""Plain training progress lines from the trainer's log calls (synthetic, no training)."""

import io

from transformers import TrainerControl, TrainerState

from rlvr.training.plain_progress import PlainProgressCallback


def test_lines_with_step_loss_and_reward_on_a_non_terminal_stream():
    stream = io.StringIO()
    callback = PlainProgressCallback(interval_s=0, stream=stream)
    state, control = TrainerState(max_steps=4, global_step=2), TrainerControl()
    callback.on_train_begin(None, state, control)  # resumed at step 2
    for step in (3, 4):
        state.global_step = step
        callback.on_log(None, state, control, logs={"loss": 0.5 / step, "reward": 0.25})
    callback.on_log(None, state, control, logs={"train_loss": 0.1})  # the summary at the end
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("training: step 3/4 (75%), loss 0.1667, reward 0.25, elapsed ")
    assert "left ~" in lines[0]
    assert lines[1].startswith("training: step 4/4 (100%), loss 0.1250") and "done" in lines[1]
