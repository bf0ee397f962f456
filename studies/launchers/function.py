"""The `function` launcher: a trial is a call of an importable ``module:function``.

The function takes ``{domain: weight}`` and the keyword ``seed`` and returns a metrics dict
(name -> number). Each call runs in its own daemon thread of this process (the study's
parallelism bounds how many at once); for tests, benchmarks on known surfaces, and users who
score a mixture some other way. A call that raises fails its trial with the exception as the
reason; one that outlives its time limit is given up (a thread cannot be killed: it runs on,
its result is ignored). Each call's end is also written to its attempt folder as
``outcome.json`` (with the attempt's run id), as the trial process of the other launchers does.
"""

from __future__ import annotations

import importlib
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from mixopt.errors import MixoptError
from studies.launchers.base import Poll, TrialSpec


class TargetError(MixoptError):
    """The configured ``module:function`` cannot be imported or is not callable."""


def load_target(target: str) -> Callable[..., Any]:
    """The callable named ``module:function``.

    Raises:
        TargetError: bad form, module not importable, no such attribute, or not callable.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(f"launcher.target {target!r}: expected 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise TargetError(f"launcher.target {target!r}: cannot import {module_name!r}: {err}") \
            from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise TargetError(f"launcher.target {target!r}: {module_name} has no callable {attr!r}")
    return fn


def metrics_of(value: object) -> dict[str, float]:
    """A function's return value as metrics.

    Raises:
        ValueError: not a mapping of names to finite numbers (the message says what is wrong).
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"the function returned {type(value).__name__}, not a dict of metrics")
    metrics = {}
    for key, number in value.items():
        if not isinstance(key, str) or isinstance(number, bool):
            raise ValueError(f"metric {key!r}: expected a name and a number, got {number!r}")
        try:
            metrics[key] = float(number)
        except (TypeError, ValueError):
            raise ValueError(f"metric {key!r}: {number!r} is not a number") from None
        if not math.isfinite(metrics[key]):
            raise ValueError(f"metric {key!r} is not finite ({number!r})")
    return metrics


class FunctionLauncher:
    """Runs trials as calls of `fn`, one daemon thread each (a hung call blocks no other)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self._futures: dict[str, Future[Any]] = {}

    @property
    def capacity(self) -> int | None:
        return None

    def submit(self, spec: TrialSpec) -> dict[str, Any]:
        key = uuid.uuid4().hex
        future: Future[Any] = Future()
        weights, seed = dict(spec.weights), spec.seed

        def call() -> None:
            try:
                result = self.fn(weights, seed=seed)
            except BaseException as err:  # handed to the driver as the trial's failure
                _write_outcome(spec, _poll_of(None, err))
                future.set_exception(err)
            else:
                _write_outcome(spec, _poll_of(result, None))
                future.set_result(result)

        self._futures[key] = future
        threading.Thread(target=call, name=f"trial-{spec.index}", daemon=True).start()
        return {"kind": "function", "key": key}

    def poll(self, handle: Mapping[str, Any]) -> Poll:
        future = self._futures.get(str(handle.get("key")))
        if future is None:
            return Poll("lost", reason="the study driver stopped while the trial ran")
        if not future.done():
            return Poll("running")
        del self._futures[str(handle["key"])]
        error = future.exception()
        return _poll_of(None if error is not None else future.result(), error)

    def cancel(self, handle: Mapping[str, Any]) -> None:
        self._futures.pop(str(handle.get("key")), None)  # a running thread cannot be stopped

    def close(self) -> None:
        self._futures.clear()


def _poll_of(result: object, error: BaseException | None) -> Poll:
    """The trial's end: the function's metrics, or why it failed."""
    if error is not None:
        return Poll("failed", reason=f"the function raised {type(error).__name__}: {error}")
    try:
        return Poll("completed", metrics=metrics_of(result))
    except ValueError as err:
        return Poll("failed", reason=str(err))


def _write_outcome(spec: TrialSpec, poll: Poll) -> None:
    """The attempt's ``outcome.json`` (as a trial process writes it), so its folder keeps the
    result if the tracking store is lost (`studies.recover`)."""
    from studies.trial_process import write_outcome

    if not spec.trial_dir or not Path(spec.trial_dir).is_dir():
        return  # no folder of its own (a launcher used outside a study)
    try:
        write_outcome(Path(spec.trial_dir), poll.state, poll.metrics, poll.reason,
                      run_id=spec.run_id)
    except OSError:
        pass  # the folder went away: the driver still gets the result from the poll
