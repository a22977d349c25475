"""``parity bench``: how fast each RoIAlign implementation is, on the workloads detection models run.

Every framework runs in its own worker process (parity.engine.pool), never in the driver: importing
MindSpore pins OMP_NUM_THREADS=1 for every child started afterwards, and forking after it ran an op
can hang.  Each worker gets the same explicit thread count, the timing loop runs inside the worker
(parity.ops.roi_align.runners.bench), and the workers take turns, so no two implementations share the CPU while
timed.  Inputs are generated once per workload from a seeded generator and sent to every worker.
Ratios are taken against torchvision float32 measured in the same run: on a shared machine only
figures from one run compare.

By default a job stops repeating once its timed calls add up to QUICK_BUDGET_S (one warm-up call
and at least one timed call always run), so the whole bench takes a few minutes; ``--full`` gives
every job FULL_BUDGET_S.  :func:`suite_throughput` adds the cases per second of a whole suite.
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.engine import pool
from parity.engine.errors import UsageError
from parity.engine.model import Status
from parity.engine.pool import Worker

_MODULE = "parity.ops.roi_align.runners.bench"
#: A worker may take this long for all its jobs of one workload (MindSpore on W4: ~20 s a call).
_TIMEOUT = 3600.0
#: Timed seconds after which a job stops repeating (the row's ``runs`` says how many calls it got).
QUICK_BUDGET_S = 2.0
FULL_BUDGET_S = 30.0
#: Workloads timed unless ``--workloads`` names others: W2a and W4 add a minute or more (a
#: MindSpore W4 call takes 17-50 s on a loaded 2-core machine), so they come with ``--full``.
QUICK_WORKLOADS = ("W1", "W2", "W3")


@dataclass(frozen=True)
class Workload:
    """One timed configuration: feature map, roi count and pooling, in torchvision's terms.

    Rois lie inside the image the feature map was computed from (``features / spatial_scale``),
    corners drawn uniformly and sorted per axis, so sizes range from a pixel to the whole image.
    """

    name: str
    description: str
    features: tuple[int, int, int, int]
    rois: int
    output_size: tuple[int, int]
    spatial_scale: float
    sampling_ratio: int
    seed: int

    def inputs(self) -> dict[str, np.ndarray]:
        """Features and grad as float32 (what every implementation starts from), rois in float64."""
        if self.name == "W1":  # the migration note's example, exactly
            features = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], np.float32)
            rois = np.array([[0.0, 0.2, 0.3, 0.2, 0.3]])
            grad = np.ones((1, 1, *self.output_size), np.float32)
            return {"features": features, "rois": rois, "grad": grad}
        rng = np.random.default_rng(self.seed)
        n, c, h, w = self.features
        features = rng.standard_normal(self.features, dtype=np.float32)
        image_h, image_w = h / self.spatial_scale, w / self.spatial_scale
        xs = np.sort(rng.uniform(0.0, image_w, (self.rois, 2)), axis=1)
        ys = np.sort(rng.uniform(0.0, image_h, (self.rois, 2)), axis=1)
        batch = rng.integers(0, n, self.rois).astype(np.float64)
        rois = np.stack([batch, xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], axis=1)
        grad = rng.standard_normal((self.rois, c, *self.output_size), dtype=np.float32)
        return {"features": features, "rois": rois, "grad": grad}


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("W1", "seed example: 1x1x2x2, 1 roi, 3x3", (1, 1, 2, 2), 1, (3, 3), 0.25, 2, 0),
        Workload("W2", "box head: 2x256x50x68 (stride 16), 1000 rois, 7x7", (2, 256, 50, 68), 1000, (7, 7), 1 / 16, 2, 2),
        Workload("W2a", "W2 with adaptive sampling (sampling_ratio=-1)", (2, 256, 50, 68), 1000, (7, 7), 1 / 16, -1, 2),
        Workload("W3", "mask head: 2x256x50x68, 100 rois, 14x14", (2, 256, 50, 68), 100, (14, 14), 1 / 16, 2, 3),
        Workload("W4", "large: 4x256x200x272 (stride 4), 2000 rois, 7x7", (4, 256, 200, 272), 2000, (7, 7), 1 / 4, 2, 4),
    )
}


@dataclass(frozen=True)
class Job:
    """One implementation on one pass: what a row of the report times."""

    framework: str  # the worker that runs it
    implementation: str
    dtype: str
    pass_: str  # forward | backward

    @property
    def name(self) -> str:
        return f"{self.implementation}-{self.dtype}-{self.pass_}"


JOBS: tuple[Job, ...] = (
    Job("torchvision", "torchvision", "float32", "forward"),
    Job("torchvision", "torchvision", "float64", "forward"),
    Job("mindspore", "mindspore", "float32", "forward"),
    Job("reference", "reference", "float64", "forward"),
    Job("torchvision", "torchvision", "float32", "backward"),
    Job("reference", "reference", "float64", "backward"),
)
#: The row every ratio is taken against, per pass.
BASELINE = {"forward": "torchvision-float32-forward", "backward": "torchvision-float32-backward"}


@dataclass(frozen=True)
class Row:
    """Timings of one job on one workload (milliseconds), or why there are none."""

    workload: str
    job: Job
    threads: int
    seconds: tuple[float, ...]
    ratio: float | None = None
    error: str = ""

    @property
    def median_ms(self) -> float | None:
        return float(np.median(self.seconds)) * 1e3 if self.seconds else None

    def to_json(self) -> dict[str, Any]:
        ms = [s * 1e3 for s in self.seconds]
        return {
            "workload": self.workload,
            "implementation": self.job.implementation,
            "dtype": self.job.dtype,
            "pass": self.job.pass_,
            "threads": self.threads,
            "median_ms": self.median_ms,
            "min_ms": min(ms) if ms else None,
            "max_ms": max(ms) if ms else None,
            "ratio_to_torchvision_f32": self.ratio,
            "runs": len(ms),
            "error": self.error,
        }


def _bench_env(runner: str, threads: int) -> dict[str, str]:
    """A suite worker is pinned to one thread (they run side by side); a bench worker runs alone
    and gets ``threads``, and is told which framework it times."""
    env = pool.worker_env()
    n = str(threads)
    env.update({"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n})
    env.update({"PARITY_BENCH_FRAMEWORK": runner, "PARITY_BENCH_THREADS": n})
    return env


def parse_workloads(text: str | None, full: bool = False) -> list[Workload]:
    """The workloads ``--workloads`` names; none named: QUICK_WORKLOADS, or every one with ``--full``."""
    if text is None:
        return [WORKLOADS[t] for t in (WORKLOADS if full else QUICK_WORKLOADS)]
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in WORKLOADS]
    if unknown or not names:
        raise UsageError(f"unknown workload {', '.join(unknown) or repr(text)}; choose from {', '.join(WORKLOADS)}")
    return [WORKLOADS[t] for t in names]


def run(
    workloads: list[Workload], repeat: int, threads: int, log_dir: str | Path | None = None,
    say: Callable[[str], None] = lambda line: None, budget_s: float = QUICK_BUDGET_S,
) -> tuple[list[Row], dict[str, str]]:
    """Time every job on every workload; returns the rows and the versions each worker reported."""
    logs = Path(log_dir or tempfile.mkdtemp(prefix="parity-bench-"))
    workers = {
        f: Worker(f, logs / f"{f}.log", module=_MODULE, timeout=_TIMEOUT, env=_bench_env(f, threads))
        for f in dict.fromkeys(j.framework for j in JOBS)
    }
    versions: dict[str, str] = {}
    rows: list[Row] = []
    try:
        for wl in workloads:
            arrays = wl.inputs()
            seconds: dict[str, tuple[float, ...]] = {}
            errors: dict[str, str] = {}
            for framework, worker in workers.items():
                jobs = [j for j in JOBS if j.framework == framework]
                say(f"{wl.name}: {framework} ({', '.join(j.name for j in jobs)})")
                got, error = _time(worker, wl, jobs, arrays, repeat, budget_s)
                if worker.versions:
                    versions.update({k: v for k, v in worker.versions.items() if k != "threads"})
                for j in jobs:
                    if error:
                        errors[j.name] = error
                    else:
                        seconds[j.name] = tuple(float(s) for s in got[j.name])
            for j in JOBS:
                base = seconds.get(BASELINE[j.pass_])
                mine = seconds.get(j.name, ())
                ratio = float(np.median(mine) / np.median(base)) if mine and base else None
                rows.append(Row(wl.name, j, threads, mine, ratio, errors.get(j.name, "")))
    finally:
        for worker in workers.values():
            worker.stop()
    return rows, versions


def _time(
    worker: Worker, wl: Workload, jobs: list[Job], arrays: dict[str, np.ndarray], repeat: int, budget_s: float
) -> tuple[dict[str, np.ndarray], str]:
    """Send one workload's jobs to a worker; the timings, or the reason there are none."""
    header = {
        "case_id": wl.name,
        "jobs": [{"name": j.name, "dtype": j.dtype, "pass": j.pass_} for j in jobs],
        "calls": repeat,  # not "repeat": the worker would rerun the whole header to check determinism
        "budget_s": budget_s,
        "warmup": 1,
        "output_size": list(wl.output_size),
        "spatial_scale": wl.spatial_scale,
        "sampling_ratio": wl.sampling_ratio,
    }
    try:
        worker.send(header, arrays)  # a worker that dies reading the inputs is reported by receive()
    except UsageError as exc:  # the worker could not start (framework missing?)
        return {}, str(exc)
    result = worker.receive(wl.name)
    if result.status is not Status.OK:
        return {}, f"{result.status.value}: {result.message}"
    return result.outputs, ""


def print_table(rows: list[Row], versions: dict[str, str], threads: int) -> None:
    """The human report: thread count, versions, then one line per workload and job."""
    from rich.table import Table

    from parity.reporters.terminal import console

    out = console()
    out.print(f"threads per worker: {threads} (OMP/BLAS env + torch.set_num_threads / MindSpore op threads); "
              f"cpus: {os.cpu_count()}; python {sys.version.split()[0]}")
    out.print("versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    table = Table(title="RoIAlign timings (ms; ratio = median / torchvision float32 median of the same pass)")
    for col in ("workload", "pass", "implementation", "dtype", "median", "min", "max", "ratio", "runs"):
        table.add_column(col, justify="right" if col in ("median", "min", "max", "ratio", "runs") else "left")
    for r in rows:
        j = r.to_json()
        if r.error:
            table.add_row(r.workload, r.job.pass_, r.job.implementation, r.job.dtype, "-", "-", "-", "-", "0")
            continue
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        table.add_row(r.workload, r.job.pass_, r.job.implementation, r.job.dtype, f"{j['median_ms']:.3g}",
                      f"{j['min_ms']:.3g}", f"{j['max_ms']:.3g}", ratio, str(j["runs"]))
    out.print(table)
    for r in rows:
        if r.error:
            out.print(f"{r.workload} {r.job.name}: {r.error}")


def protocol_overhead(log_dir: Path, cases: int = 1000) -> tuple[float, float]:
    """Per-case cost (ms) of the worker protocol alone, on W1-sized inputs and a no-op runner:
    one case at a time, and pipelined as parity run sends them."""
    import time

    worker = Worker("noop", Path(log_dir) / "noop.log", module="parity.ops.roi_align.runners.noop")
    arrays = {"features": np.zeros((1, 1, 2, 2), np.float32), "rois": np.zeros((1, 5), np.float32)}
    try:
        worker.ensure_started()
        start = time.perf_counter()
        for i in range(cases):
            worker.send({"case_id": str(i)}, arrays)
            worker.receive(str(i))
        sequential = (time.perf_counter() - start) / cases
        start = time.perf_counter()
        for i in range(cases):
            worker.send({"case_id": str(i)}, arrays)
        for i in range(cases):
            worker.receive(str(i))
        pipelined = (time.perf_counter() - start) / cases
    finally:
        worker.stop()
    return sequential * 1e3, pipelined * 1e3


@dataclass(frozen=True)
class SuiteRate:
    """How fast ``parity run`` gets through a suite: the figure the per-call timings add up to."""

    suite: str
    runners: tuple[str, ...]
    cases: int
    wall_s: float
    startup_s: float

    @property
    def cases_per_s(self) -> float:
        """After worker start-up: what a longer run converges to."""
        return self.cases / max(self.wall_s - self.startup_s, 1e-9)

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": f"suite:{self.suite}", "implementation": "parity run", "dtype": "", "pass": "suite",
            "threads": 1, "runners": list(self.runners), "cases": self.cases, "wall_s": self.wall_s,
            "startup_s": self.startup_s, "cases_per_s": self.cases_per_s,
            "median_ms": (self.wall_s - self.startup_s) / max(self.cases, 1) * 1e3, "error": "",
        }


def suite_throughput(suite: str, out_dir: Path) -> SuiteRate:
    """Run ``suite`` as ``parity run`` does with its default runners (results under ``out_dir``)."""
    from parity.ops.roi_align import generate
    from parity.engine import results, session

    meta = results.RunMeta(suite, None, session.parse_runners("torchvision,mindspore"))
    report = session.run(generate.cases_for(suite), meta, Path(out_dir))
    return SuiteRate(suite, meta.runners, report.cases, report.wall_seconds, report.startup_seconds)
