"""``parity bench --op box_iou``: how fast each box_iou implementation is, on the box counts
detectors compare.

torchvision float32 and float64, MindSpore float32 (the mapped call) and the float64 reference
(as a case's reference worker runs it: the ratio and its rounding bound), each in its own worker
(parity.engine.bench), the workers taking turns so that no two share the CPU while timed.
Boxes are drawn once per workload from a seeded generator inside the documented domain and sent
to every worker as float64; each worker converts them to its job's dtype outside the clock.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parity.engine import bench
from parity.engine.bench import Job, Row

_MODULE = "parity.ops.box_iou.bench_runner"
#: The JSON name of each row's ratio (the same as roi_align's bench rows).
RATIO_KEY = "ratio_to_torchvision_f32"


@dataclass(frozen=True)
class Workload:
    """``n`` boxes against ``m``, corners of boxes 8 to 300 wide in an 800 x 800 image (a seeded draw)."""

    name: str
    description: str
    n: int
    m: int
    seed: int

    def inputs(self) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(self.seed)

        def boxes(k: int) -> np.ndarray:
            xy, wh = rng.uniform(0, 500, (k, 2)), rng.uniform(8, 300, (k, 2))
            return np.concatenate([xy, xy + wh], axis=1)

        return {"boxes1": boxes(self.n), "boxes2": boxes(self.m)}


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("B0", "tiny: 8 x 6 boxes (the protocol's cost)", 8, 6, 0),
        Workload("B1", "1000 x 1000 boxes", 1000, 1000, 1),
        Workload("B2", "5000 x 5000 boxes", 5000, 5000, 2),
        Workload("B3", "detector: 2000 anchors x 100 gt boxes", 2000, 100, 3),
    )
}
DEFAULT_WORKLOADS = "B1,B2,B3"

JOBS: tuple[Job, ...] = (
    Job("torchvision", "torchvision", "float32"),
    Job("torchvision", "torchvision", "float64"),
    Job("mindspore", "mindspore", "float32"),
    Job("reference", "reference", "float64"),
)
#: The job every ratio is taken against.
BASELINE = "torchvision-float32"


def parse_workloads(text: str) -> list[Workload]:
    """The workloads ``--workloads`` names."""
    return bench.named(text, WORKLOADS, " for --workloads")


def run(
    workloads: list[Workload], repeat: int, threads: int, log_dir: str | Path | None = None,
    say: Callable[[str], None] = lambda line: None, budget_s: float = bench.QUICK_BUDGET_S,
) -> tuple[list[Row], dict[str, str]]:
    """Time every job on every workload; the rows and the versions each worker reported."""
    return bench.run(workloads, JOBS, BASELINE, _MODULE, repeat=repeat, threads=threads, budget_s=budget_s,
                     log_dir=log_dir, say=say)


def row_json(row: Row) -> dict[str, object]:
    """A row as ``--json`` prints it: roi_align's bench row shape (``pass`` is always forward)."""
    return {**row.to_json(RATIO_KEY), "pass": "forward"}


def print_table(rows: list[Row], versions: dict[str, str], threads: int) -> None:
    """The human report: thread count, versions, then one line per workload and job."""
    from parity.reporters.bench_table import print_rows

    print_rows("box_iou timings (ms; ratio = median / torchvision float32 median of the same run)", rows, versions, threads)
