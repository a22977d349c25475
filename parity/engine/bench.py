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
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from parity.engine import pool
from parity.engine.errors import UsageError, native
from parity.engine.model import Status
from parity.engine.pool import Worker

#: A worker may take this long for all its jobs of one workload.
TIMEOUT_S = 3600.0
#: Timed seconds after which a job stops repeating (a row's ``runs`` says how many calls it got).
QUICK_BUDGET_S = 2.0
FULL_BUDGET_S = 30.0
#: A job's last ``calls`` timed calls are steady when the slowest takes at most this many times
#: the fastest; the job goes on until they are (within MAX_CALLS_FACTOR times ``calls`` and its
#: budget), and its row is their median.  In a new process the first calls can stall: W2's
#: reference at 2 threads took 150-172 ms a call for up to six calls, then 31-33 ms (six fresh
#: processes, 25 calls each), and a fixed count of calls gave the median of the stalls.
STEADY_SPREAD = 1.3
MAX_CALLS_FACTOR = 10
#: The suffix of the array a worker returns beside a job's timings: its timed calls before them.
SETTLING = ":settling"


@dataclass(frozen=True)
class Job:
    """One implementation in one dtype: what a row times."""

    framework: str  # the worker that runs it
    implementation: str
    dtype: str

    @property
    def name(self) -> str:
        return f"{self.implementation}-{self.dtype}"

    def columns(self) -> dict[str, str]:
        """What says which job a JSON row times (an op's job with more fields adds them)."""
        return {"implementation": self.implementation, "dtype": self.dtype}

    def to_header(self) -> dict[str, str]:
        """What the worker gets of the job: its name (the key of its timings) and what it builds."""
        return {"name": self.name, "dtype": self.dtype}


@dataclass(frozen=True)
class Row:
    """Timings of one job on one workload (seconds), or why there are none."""

    workload: str
    job: Job
    threads: int
    seconds: tuple[float, ...]
    ratio: float | None = None
    error: str = ""
    settling: int = 0  # timed calls before ``seconds``, which were not steady yet

    @property
    def median_ms(self) -> float | None:
        return float(np.median(self.seconds)) * 1e3 if self.seconds else None

    @property
    def steady(self) -> bool:
        """Whether the calls the row reports lie within STEADY_SPREAD of one another (a job that
        never got there reports its last calls, and says so)."""
        return bool(self.seconds) and steady(self.seconds)

    def to_json(self, ratio_key: str = "ratio_to_baseline") -> dict[str, Any]:
        """The JSON row; ``ratio_key`` names the ratio after the op's baseline job."""
        ms = [s * 1e3 for s in self.seconds]
        return {
            "workload": self.workload, **self.job.columns(), "threads": self.threads, "median_ms": self.median_ms, "min_ms": min(ms) if ms else None,
            "max_ms": max(ms) if ms else None, ratio_key: self.ratio, "runs": len(ms), "steady": self.steady, "settling_runs": self.settling, "error": self.error,
        }


def bench_env(framework: str, threads: int) -> dict[str, str]:
    """A suite worker is pinned to one thread (they run side by side); a bench worker runs alone,
    gets ``threads``, and is told which framework it times (``PARITY_BENCH_FRAMEWORK``)."""
    env = pool.worker_env()
    n = str(threads)
    env.update({"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n})
    env.update({"PARITY_BENCH_FRAMEWORK": framework, "PARITY_BENCH_THREADS": n})
    return env


def steady(seconds: Sequence[float]) -> bool:
    """Whether timed calls lie within STEADY_SPREAD of one another."""
    return bool(max(seconds) <= STEADY_SPREAD * min(seconds))


def time_jobs(framework: str, make: Callable[[dict[str, Any]], Callable[[], object]], header: dict[str, Any]) -> dict[str, np.ndarray]:
    """Worker side: for each job of ``header["jobs"]``, ``make(job)`` builds the bare call; then
    ``warmup`` untimed calls and timed ones until the last ``calls`` of them are steady, stopping
    early once all add up to ``budget_s`` or number MAX_CALLS_FACTOR times ``calls``.  Per job
    name, the seconds of those last calls, and under the name plus SETTLING those before them."""
    times = {}
    for job in header["jobs"]:
        with native(framework):
            call = make(job)
        for _ in range(int(header.get("warmup", 1))):
            with native(framework):
                call()
        seconds: list[float] = []
        calls, budget = int(header["calls"]), float(header.get("budget_s", float("inf")))
        while True:
            start = time.perf_counter()
            with native(framework):
                call()
            seconds.append(time.perf_counter() - start)
            if sum(seconds) >= budget or len(seconds) >= calls * MAX_CALLS_FACTOR or (len(seconds) >= calls and steady(seconds[-calls:])):
                break
        name = str(job["name"])
        times[name], times[name + SETTLING] = np.array(seconds[-calls:]), np.array(seconds[:-calls])
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


J = TypeVar("J", bound=Job)


def rows_of(workload: str, jobs: Sequence[J], baseline: str | Callable[[J], str], threads: int,
            seconds: dict[str, tuple[float, ...]], errors: dict[str, str], settling: Mapping[str, int] | None = None) -> list[Row]:
    """One row per job, its ratio the median over the median of the same run's ``baseline`` job
    (one name, or the name for each job: an op may time passes against a baseline each);
    ``settling``: how many timed calls of each job came before its steady ones."""
    def baseline_of(job: J) -> str:
        return baseline(job) if callable(baseline) else baseline

    rows = []
    for j in jobs:
        base, mine = seconds.get(baseline_of(j)), seconds.get(j.name, ())
        ratio = float(np.median(mine) / np.median(base)) if mine and base else None
        rows.append(Row(workload, j, threads, mine, ratio, errors.get(j.name, ""), (settling or {}).get(j.name, 0)))
    return rows


class Workload(Protocol):
    """What a bench times its jobs on: a name, and the inputs every worker gets."""

    @property
    def name(self) -> str: ...

    def inputs(self) -> dict[str, np.ndarray]: ...


W = TypeVar("W", bound=Workload)


def named(text: str, workloads: Mapping[str, W], where: str = "") -> list[W]:
    """The workloads a comma-separated ``text`` names, in its order, or a UsageError naming those
    unknown (``where`` says which option gave them) and the choices."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in workloads]
    if unknown or not names:
        raise UsageError(f"unknown workload {', '.join(unknown) or repr(text)}{where}; choose from {', '.join(workloads)}")
    return [workloads[t] for t in names]


def run(workloads: Sequence[W], jobs: Sequence[J], baseline: str | Callable[[J], str], module: str, *,
        repeat: int, threads: int, budget_s: float, log_dir: str | Path | None = None,
        say: Callable[[str], None] = lambda line: None, attrs: Callable[[W], dict[str, Any]] = lambda wl: {},
        timeout: float = TIMEOUT_S) -> tuple[list[Row], dict[str, str]]:
    """Time every job on every workload, one worker (``module``) per framework, the workers taking
    turns; each gets the workload's inputs once, its jobs and the op's ``attrs`` of the workload.
    The rows (ratios: :func:`rows_of`) and the versions each worker reported."""
    logs = Path(log_dir or tempfile.mkdtemp(prefix="parity-bench-"))
    workers = {
        f: Worker(f, logs / f"{f}.log", module=module, timeout=timeout, env=bench_env(f, threads))
        for f in dict.fromkeys(j.framework for j in jobs)
    }
    versions: dict[str, str] = {}
    rows: list[Row] = []
    try:
        for wl in workloads:
            arrays = wl.inputs()
            seconds: dict[str, tuple[float, ...]] = {}
            settling: dict[str, int] = {}
            errors: dict[str, str] = {}
            for framework, worker in workers.items():
                mine = [j for j in jobs if j.framework == framework]
                say(f"{wl.name}: {framework} ({', '.join(j.name for j in mine)})")
                header = {"jobs": [j.to_header() for j in mine], "calls": repeat, "budget_s": budget_s, "warmup": 1, **attrs(wl)}
                got, error = send(worker, wl.name, header, arrays)
                versions.update({k: v for k, v in (worker.versions or {}).items() if k != "threads"})
                for j in mine:
                    if error:
                        errors[j.name] = error
                    else:
                        seconds[j.name] = tuple(float(s) for s in got[j.name])
                        settling[j.name] = len(got.get(j.name + SETTLING, ()))
            rows += rows_of(wl.name, jobs, baseline, threads, seconds, errors, settling)
    finally:
        for worker in workers.values():
            worker.stop()
    return rows, versions
