"""The `function` launcher: a trial is a call of an importable ``module:function``.

The function takes ``{domain: weight}`` and the keyword ``seed`` and returns a metrics dict
(name -> number). Each call runs in its own daemon thread of this process (the study's
parallelism bounds how many at once); for tests, benchmarks on known surfaces, and users who
score a mixture some other way. A call that raises fails its trial with the exception as the
reason; one that outlives its time limit is given up (a thread cannot be killed: it runs on,
its result is ignored). Each call's end is also written to its attempt folder as
``outcome.json`` (with the attempt's run id), as the trial process of the other launchers does.

With checkpoints (a study's ``search.fidelity``) the function is also given ``report=``, a
`CheckpointReporter`: it calls ``report(fraction, metrics)`` at each fraction of
``report.fractions`` (the checkpoints short of the full budget) and returns the full-budget
metrics as usual. A report is written to the attempt's ``checkpoints.json`` and waits until
the driver has read it (`FunctionLauncher.checkpoints_seen`); once the driver has stopped the
trial (early stopping, `cancel`) the report raises `TrialStopped` instead, which ends the call.

A proxy trial (a study's ``search.proxies``) is called with ``proxy=NAME`` as well; a target
trial without it (so a function may default ``proxy=None``).
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


class TrialStopped(Exception):
    """Raised by a `CheckpointReporter` once the driver has stopped the trial."""


class CheckpointReporter:
    """``report(fraction, metrics)``: one checkpoint of a trial function (see module doc).

    Attributes:
        fractions: the checkpoints to report, increasing, short of the full budget (1.0).
    """

    def __init__(self, spec: TrialSpec, fractions: tuple[float, ...]) -> None:
        self.spec = spec
        self.fractions = tuple(f for f in fractions if f < 1.0)
        self._lock = threading.Condition()
        self._written = self._seen = 0
        self.stopped = False

    def __call__(self, fraction: float, metrics: Mapping[str, float]) -> None:
        """Report the trial's metrics at `fraction` of its budget; returns once the driver
        has read them.

        Raises:
            TrialStopped: the driver has stopped the trial.
            ValueError: a fraction that is not one of `fractions` or not after the last
                one reported, or metrics that are not finite numbers.
        """
        from studies.checkpoints import CheckpointFileError, write_checkpoint

        if self.stopped:
            raise TrialStopped(f"trial {self.spec.index} was stopped early")
        if not any(abs(fraction - f) < 1e-9 for f in self.fractions):
            raise ValueError(f"report({fraction!r}, ...): not one of the study's checkpoints "
                             f"short of the full budget {list(self.fractions)}")
        values = metrics_of(metrics)
        try:
            write_checkpoint(Path(self.spec.trial_dir), self.spec.run_id, float(fraction),
                             values)
        except CheckpointFileError as err:
            raise ValueError(str(err)) from None
        with self._lock:
            self._written += 1
            self._lock.wait_for(lambda: self.stopped or self._seen >= self._written)
        if self.stopped:
            raise TrialStopped(f"trial {self.spec.index} was stopped early")

    def release(self, seen: int = 0, *, stop: bool = False) -> None:
        """The driver has read `seen` checkpoints of the trial (`stop`: and stopped it)."""
        with self._lock:
            self.stopped = self.stopped or stop
            self._seen = max(self._seen, seen)
            self._lock.notify_all()


class FunctionLauncher:
    """Runs trials as calls of `fn`, one daemon thread each (a hung call blocks no other).

    Args:
        fn: the trial function.
        checkpoints: the study's checkpoint fractions (`search.fidelity.checkpoints`), or
            None: `fn` is called without ``report=``.
    """

    def __init__(self, fn: Callable[..., Any],
                 checkpoints: tuple[float, ...] | None = None) -> None:
        self.fn = fn
        self.checkpoints = checkpoints
        self._futures: dict[str, Future[Any]] = {}
        self._reporters: dict[str, CheckpointReporter] = {}

    @property
    def capacity(self) -> int | None:
        return None

    def submit(self, spec: TrialSpec) -> dict[str, Any]:
        key = uuid.uuid4().hex
        future: Future[Any] = Future()
        weights, seed = dict(spec.weights), spec.seed
        extra: dict[str, Any] = {}
        if self.checkpoints is not None:
            extra["report"] = self._reporters[key] = CheckpointReporter(spec, self.checkpoints)
        if spec.proxy:
            extra["proxy"] = spec.proxy

        def call() -> None:
            try:
                result = self.fn(weights, seed=seed, **extra)
            except TrialStopped as err:  # the driver recorded the stop: no outcome to write
                future.set_exception(err)
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
        self._reporters.pop(str(handle["key"]), None)
        error = future.exception()
        return _poll_of(None if error is not None else future.result(), error)

    def checkpoints_seen(self, handle: Mapping[str, Any], count: int) -> None:
        """The driver has read `count` checkpoints of the trial (from its file): a report
        waiting for them returns."""
        reporter = self._reporters.get(str(handle.get("key")))
        if reporter is not None:
            reporter.release(count)

    def cancel(self, handle: Mapping[str, Any]) -> None:
        """Forget the trial; a function waiting in (or calling) ``report`` gets
        `TrialStopped` (a thread cannot be stopped otherwise)."""
        self._futures.pop(str(handle.get("key")), None)
        reporter = self._reporters.pop(str(handle.get("key")), None)
        if reporter is not None:
            reporter.release(stop=True)

    def close(self) -> None:
        for reporter in self._reporters.values():
            reporter.release(stop=True)
        self._reporters.clear()
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
