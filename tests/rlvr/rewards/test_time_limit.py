import signal
import threading
import time

import pytest

from rlvr.rewards.time_limit import TimeLimitExceeded, can_limit_time, time_limit


def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_interrupts_a_long_block_and_lets_a_short_one_finish():
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.02):
            spin(5)
    with time_limit(1.0):
        spin(0.001)


def test_passes_through_except_exception():
    with pytest.raises(TimeLimitExceeded):
        with time_limit(0.02):
            try:
                spin(5)
            except Exception:  # what math-verify does; the limit must still get out
                pass


def test_restores_the_callers_handler_and_timer():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    previous_timer = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with time_limit(0.01):
            pass
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining <= 0.3
        spin(0.4)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if previous_timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *previous_timer)


def test_no_limit_outside_the_main_thread():
    outcome = []

    def work():
        outcome.append(can_limit_time())
        with time_limit(0.01):
            spin(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=10)
    assert outcome == [False, "finished"]


def test_refuses_a_non_positive_limit():
    with pytest.raises(ValueError, match="positive"):
        with time_limit(0):
            pass
