"""`mixopt.threads.idle_cores`: the cores the load average leaves idle, at least 1."""

import os

import pytest

from mixopt import threads


@pytest.mark.parametrize(("cpus", "load", "expected"), [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.2, 1), (2, 5.0, 1), (16, 3.4, 13),
    (2, -1.0, 2),  # never more threads than cores
])
def test_idle_cores_follow_the_load(monkeypatch, cpus, load, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert threads.idle_cores() == expected


def test_without_a_load_average_every_core(monkeypatch):
    def no_load():
        raise OSError("no load average")

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", no_load)
    assert threads.idle_cores() == 4
