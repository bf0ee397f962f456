"""The `slurm` launcher: one Slurm job per trial, through submitit.

The job runs `studies.trial_process.run_trial` on the trial's ``trial.json`` (the same process
as the local launcher's), so its result crosses back as ``outcome.json`` in the trial folder,
never through a log. The handle holds the job id, submitit's folder and the attempt's run id: a
later driver polls the same job (``sacct``/``squeue`` through submitit), and only an outcome of
that run is read. The training a job starts dies with the job's process
(`studies.trial_process`), and Slurm ends a cancelled job's processes itself.
``executor: local`` uses submitit's local executor instead (one machine; what the tests use).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mixopt.errors import MixoptError
from studies.config import SlurmLauncher as SlurmSettings
from studies.launchers.base import Poll, TrialSpec
from studies.lock import pid_alive
from studies.trial_files import TRIAL_FILE
from studies.trial_process import ForeignOutcomeError, OutcomeFileError, read_outcome, run_trial

_ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
          "PREEMPTED", "BOOT_FAIL", "DEADLINE", "FINISHED", "INTERRUPTED")


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise MixoptError(
            "the slurm launcher needs submitit: pip install 'mixopt[slurm]'") from None
    return submitit


class SlurmLauncher:
    """Submits trials as Slurm jobs (or submitit local jobs)."""

    def __init__(self, settings: SlurmSettings, *, study_dir: Path) -> None:
        self.settings = settings
        self.folder = study_dir / "submitit"
        submitit = _submitit()
        if settings.executor == "local":
            self.executor = submitit.LocalExecutor(folder=self.folder)
            self.executor.update_parameters(timeout_min=settings.time_min,
                                            gpus_per_node=settings.gpus_per_node)
        else:
            try:
                self.executor = submitit.AutoExecutor(folder=self.folder, cluster="slurm")
            except RuntimeError as err:  # submitit: no `srun` on this machine
                raise MixoptError(f"slurm launcher: {err} (launcher.executor: local runs "
                                  "the trials on this machine instead)") from None
            params: dict[str, Any] = {
                "timeout_min": settings.time_min, "gpus_per_node": settings.gpus_per_node,
                "cpus_per_task": settings.cpus_per_task, "mem_gb": settings.mem_gb,
                "slurm_additional_parameters": dict(settings.extra),
            }
            if settings.partition is not None:
                params["slurm_partition"] = settings.partition
            if settings.account is not None:
                params["slurm_account"] = settings.account
            self.executor.update_parameters(**params)
        self._jobs: dict[str, Any] = {}

    @property
    def capacity(self) -> int | None:
        return None  # the cluster's scheduler queues what does not fit

    def submit(self, spec: TrialSpec) -> dict[str, Any]:
        self.executor.update_parameters(name=f"{spec.study}-trial{spec.index}")
        job = self.executor.submit(run_trial, Path(spec.trial_dir) / TRIAL_FILE, spec.run_id)
        self._jobs[str(job.job_id)] = job
        return {"kind": "slurm", "executor": self.settings.executor, "job_id": str(job.job_id),
                "folder": str(self.folder), "trial_dir": spec.trial_dir, "run_id": spec.run_id}

    def _state(self, handle: Mapping[str, Any]) -> str:
        job_id = str(handle["job_id"])
        job = self._jobs.get(job_id)
        if job is not None:
            return "FINISHED" if job.done() else "RUNNING"
        if handle.get("executor") == "local":  # a local job's id is its pid
            return "RUNNING" if pid_alive(int(job_id)) else "FINISHED"
        return str(_submitit().SlurmJob(folder=handle["folder"], job_id=job_id).state)

    def poll(self, handle: Mapping[str, Any]) -> Poll:
        trial_dir = Path(handle["trial_dir"])
        foreign = ""
        try:
            # A handle of an earlier version has no run id: its outcome is read unchecked.
            outcome = read_outcome(trial_dir, run_id=handle.get("run_id"))
        except ForeignOutcomeError as err:
            outcome, foreign = None, str(err)  # the job will write its own over it
        except OutcomeFileError as err:
            return self._ended(handle, Poll("failed", reason=str(err)))
        if outcome is not None:
            if outcome["status"] == "completed":
                return self._ended(handle, Poll("completed", metrics=outcome["metrics"]))
            return self._ended(handle, Poll("failed", reason=str(outcome.get("reason", ""))))
        state = self._state(handle)
        if state.split()[0] not in _ENDED:
            return Poll("running")
        if foreign:
            return self._ended(handle, Poll("failed", reason=foreign))
        return self._ended(handle, Poll(
            "failed", reason=f"job {handle['job_id']} ended ({state}) without an outcome; "
            f"see its logs in {handle['folder']}"))

    def _ended(self, handle: Mapping[str, Any], poll: Poll) -> Poll:
        self._jobs.pop(str(handle["job_id"]), None)
        return poll

    def cancel(self, handle: Mapping[str, Any]) -> None:
        job = self._jobs.pop(str(handle["job_id"]), None)
        if job is None:
            submitit = _submitit()
            job = (submitit.local.local.LocalJob(handle["folder"], str(handle["job_id"]))
                   if handle.get("executor") == "local"
                   else submitit.SlurmJob(folder=handle["folder"], job_id=str(handle["job_id"])))
        try:
            job.cancel(check=False)
        except Exception:  # best effort: the job may be gone already
            pass

    def close(self) -> None:
        """Jobs go on in the scheduler; a later driver polls them again."""
