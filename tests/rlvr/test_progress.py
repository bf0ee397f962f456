"""Plain progress lines: one every interval on a non-terminal stream, none on a terminal."""

import io

import pytest

from rlvr.progress import PlainProgress, format_seconds


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_lines_every_interval_with_steps_loss_elapsed_and_time_left():
    clock, stream = FakeClock(), io.StringIO()
    progress = PlainProgress("warm start", 100, stream=stream, interval_s=30, clock=clock)
    printed = []
    for done in range(1, 101):
        clock.now += 1.0  # one second a step
        printed.append(progress.update(done, loss=1.0 / done))
    lines = stream.getvalue().splitlines()
    assert [line for line in printed if line] == lines
    # Lines at 30 s, 60 s, 90 s and the last step.
    assert len(lines) == 4
    assert lines[0] == "warm start: step 30/100 (30%), loss 0.0333, elapsed 30s, left ~1m10s"
    assert lines[1].startswith("warm start: step 60/100 (60%)") and "left ~40s" in lines[1]
    assert lines[-1] == "warm start: step 100/100 (100%), loss 0.0100, elapsed 1m40s, done"


def test_a_resumed_run_extrapolates_from_the_steps_done_here():
    clock, stream = FakeClock(), io.StringIO()
    progress = PlainProgress("warm start", 100, stream=stream, interval_s=10, clock=clock,
                             start=50)
    clock.now += 10.0
    line = progress.update(60, extra="lr 1e-3")
    # 10 steps in 10 s: 40 steps left take 40 s (not the 50 resumed steps' share).
    assert line == "warm start: step 60/100 (60%), lr 1e-3, elapsed 10s, left ~40s"


def test_silent_on_a_terminal_unless_asked():
    clock = FakeClock()
    terminal = Terminal()
    progress = PlainProgress("training", 2, stream=terminal, interval_s=0, clock=clock)
    assert progress.update(2) is None and terminal.getvalue() == ""
    forced = PlainProgress("training", 2, stream=terminal, interval_s=0, clock=clock,
                           enabled=True)
    assert forced.update(1) is not None and "training: step 1/2" in terminal.getvalue()


def test_bad_arguments_name_the_reporter():
    with pytest.raises(ValueError, match="PlainProgress\\('x'\\): total must be >= 1"):
        PlainProgress("x", 0)


def test_format_seconds():
    assert [format_seconds(s) for s in (8.4, 75.2, 3725)] == ["8s", "1m15s", "1h02m05s"]


def test_the_last_step_gets_one_line_however_often_it_is_reported():
    clock, stream = FakeClock(), io.StringIO()
    progress = PlainProgress("training", 3, stream=stream, interval_s=30, clock=clock)
    for done in (1, 2, 3, 3):  # the trainer logs the last step, then its summary
        clock.now += 1.0
        progress.update(done)
    assert stream.getvalue().splitlines() == ["training: step 3/3 (100%), elapsed 3s, done"]
