"""``parity bench``: how fast each RoIAlign implementation is, on the workloads detection models run.

Every framework runs in its own worker process (parity.engine.pool), never in the driver: importing
MindSpore pins OMP_NUM_THREADS=1 for every child started afterwards, and forking after it ran an op
can hang.  Each worker gets the same explicit thread count, the timing loop runs inside the worker
(parity.ops.roi_align.runners.bench, through parity.engine.bench), and the workers take turns, so no two implementations share the CPU while
timed.  Inputs are generated once per workload from a seeded generator and sent to every worker.
Ratios are taken against torchvision float32 measured in the same run: on a shared machine only
figures from one run compare.

A job repeats until its last ``--repeat`` calls are steady (parity.engine.bench.time_jobs), and
stops early once its timed calls add up to parity.engine.bench.QUICK_BUDGET_S (one warm-up call
and at least one timed call always run), so the whole bench takes well under a minute with the
defaults; ``--full`` gives every job FULL_BUDGET_S.  :func:`suite_throughput` adds the cases per second of a whole suite.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.engine import bench
from parity.engine.bench import QUICK_BUDGET_S, Row
from parity.engine.pool import Worker

_MODULE = "parity.ops.roi_align.runners.bench"
#: The JSON name of each row's ratio.
RATIO_KEY = "ratio_to_torchvision_f32"
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
class Job(bench.Job):
    """One implementation on one pass: what a row of the report times."""

    pass_: str  # forward | backward

    @property
    def name(self) -> str:
        return f"{self.implementation}-{self.dtype}-{self.pass_}"

    def columns(self) -> dict[str, str]:
        return {**super().columns(), "pass": self.pass_}

    def to_header(self) -> dict[str, str]:
        return {**super().to_header(), "pass": self.pass_}


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


def parse_workloads(text: str | None, full: bool = False) -> list[Workload]:
    """The workloads ``--workloads`` names; none named: QUICK_WORKLOADS, or every one with ``--full``."""
    if text is None:
        return [WORKLOADS[t] for t in (WORKLOADS if full else QUICK_WORKLOADS)]
    return bench.named(text, WORKLOADS)


def run(
    workloads: list[Workload], repeat: int, threads: int, log_dir: str | Path | None = None,
    say: Callable[[str], None] = lambda line: None, budget_s: float = QUICK_BUDGET_S,
) -> tuple[list[Row], dict[str, str]]:
    """Time every job on every workload; returns the rows and the versions each worker reported."""
    return bench.run(workloads, JOBS, _baseline, _MODULE, repeat=repeat, threads=threads, budget_s=budget_s,
                     log_dir=log_dir, say=say, attrs=_attrs)


def _baseline(job: Job) -> str:
    return BASELINE[job.pass_]


def _attrs(wl: Workload) -> dict[str, Any]:
    """The pooling every job of the workload calls with."""
    return {"output_size": list(wl.output_size), "spatial_scale": wl.spatial_scale, "sampling_ratio": wl.sampling_ratio}


def row_json(row: Row) -> dict[str, Any]:
    """A row as ``--json`` prints it."""
    return row.to_json(RATIO_KEY)


def print_table(rows: list[Row], versions: dict[str, str], threads: int) -> None:
    """The human report: thread count, versions, then one line per workload and job."""
    from parity.reporters.bench_table import print_rows

    print_rows("RoIAlign timings (ms; ratio = median / torchvision float32 median of the same pass)", rows, versions, threads,
               "OMP/BLAS env + torch.set_num_threads / MindSpore op threads", columns=("pass",), row_json=row_json)


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
