"""What every op's ``parity bench`` needs, whatever the op: jobs timed inside their framework's
own worker (parity.engine.pool), one worker at a time, and rows with same-run ratios.

Each framework runs in its own worker process, never in the driver (importing one framework can
change the threads of every child started afterwards, and two may not share a process at all).
Every bench worker gets the same explicit thread count; the clock runs in the worker, around the
bare call (:func:`time_jobs`), so imports, pipe transfers and dtype conversions never enter a
figure.  Ratios are taken against a baseline job measured in the same run: on a shared machine
only figures from one run compare.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity.engine import pool
from parity.engine.errors import UsageError, native
from parity.engine.model import Status
from parity.engine.pool import Worker

#: Timed seconds after which a job stops repeating (a row's ``runs`` says how many calls it got).
QUICK_BUDGET_S = 2.0
FULL_BUDGET_S = 30.0


@dataclass(frozen=True)
class Job:
    """One implementation in one dtype: what a row times."""

    framework: str  # the worker that runs it
    implementation: str
    dtype: str

    @property
    def name(self) -> str:
        return f"{self.implementation}-{self.dtype}"


@dataclass(frozen=True)
class Row:
    """Timings of one job on one workload (seconds), or why there are none."""

    workload: str
    job: Job
    threads: int
    seconds: tuple[float, ...]
    ratio: float | None = None
    error: str = ""

    @property
    def median_ms(self) -> float | None:
        return float(np.median(self.seconds)) * 1e3 if self.seconds else None

    def to_json(self, ratio_key: str = "ratio_to_baseline") -> dict[str, Any]:
        """The JSON row; ``ratio_key`` names the ratio after the op's baseline job."""
        ms = [s * 1e3 for s in self.seconds]
        return {
            "workload": self.workload, "implementation": self.job.implementation, "dtype": self.job.dtype,
            "threads": self.threads, "median_ms": self.median_ms, "min_ms": min(ms) if ms else None,
            "max_ms": max(ms) if ms else None, ratio_key: self.ratio, "runs": len(ms), "error": self.error,
        }


def bench_env(framework: str, threads: int) -> dict[str, str]:
    """A suite worker is pinned to one thread (they run side by side); a bench worker runs alone,
    gets ``threads``, and is told which framework it times (``PARITY_BENCH_FRAMEWORK``)."""
    env = pool.worker_env()
    n = str(threads)
    env.update({"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n})
    env.update({"PARITY_BENCH_FRAMEWORK": framework, "PARITY_BENCH_THREADS": n})
    return env


def time_jobs(framework: str, make: Callable[[dict[str, Any]], Callable[[], object]], header: dict[str, Any]) -> dict[str, np.ndarray]:
    """Worker side: for each job of ``header["jobs"]``, ``make(job)`` builds the bare call; then
    ``warmup`` untimed calls and up to ``calls`` timed ones, stopping once they add up to
    ``budget_s``.  One array of seconds per job name."""
    times = {}
    for job in header["jobs"]:
        with native(framework):
            call = make(job)
        for _ in range(int(header.get("warmup", 1))):
            with native(framework):
                call()
        seconds: list[float] = []
        for _ in range(int(header["calls"])):
            start = time.perf_counter()
            with native(framework):
                call()
            seconds.append(time.perf_counter() - start)
            if sum(seconds) >= float(header.get("budget_s", float("inf"))):
                break
        times[str(job["name"])] = np.array(seconds)
    return times


def send(worker: Worker, case_id: str, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
    """One workload's jobs to a worker (``header`` with ``case_id``, ``jobs``, ``calls``; never
    ``repeat``, which makes a worker rerun a case to check determinism): the timings, or why none."""
    try:
        worker.send({**header, "case_id": case_id}, arrays)  # a worker that dies reading is reported by receive()
    except UsageError as exc:  # the worker could not start (framework missing?)
        return {}, str(exc)
    result = worker.receive(case_id)
    if result.status is not Status.OK:
        return {}, f"{result.status.value}: {result.message}"
    return result.outputs, ""


def rows_of(workload: str, jobs: tuple[Job, ...], baseline: str, threads: int, seconds: dict[str, tuple[float, ...]],
            errors: dict[str, str]) -> list[Row]:
    """One row per job, its ratio the median over the ``baseline`` job's median of the same run."""
    base = seconds.get(baseline)
    rows = []
    for j in jobs:
        mine = seconds.get(j.name, ())
        ratio = float(np.median(mine) / np.median(base)) if mine and base else None
        rows.append(Row(workload, j, threads, mine, ratio, errors.get(j.name, "")))
    return rows
