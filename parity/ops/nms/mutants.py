"""Mutation testing of nms's suites: known faults injected into a copy of the reference NMS
(parity.engine.mutation runs them); some case must tell each faulty NMS from the real one: a
MISMATCH when its output is judged as torchvision's.

Each mutant is a set of exact source edits to a fresh copy of parity/ops/nms/reference.py.  The
judge and the reference runner are imported here, before any copy is loaded under the
reference's name, so they keep the real reference.
"""
from __future__ import annotations

import types
from pathlib import Path
from typing import Sequence

from parity.engine import mutation
from parity.engine.model import Case, RunResult, Status, Verdict
from parity.engine.mutation import Modules, Mutant, Outcome, Sources
from parity.ops import nms as package
from parity.ops.nms import semantics
from parity.ops.nms.judge import judge
from parity.ops.nms.reference_runner import run as run_reference

__all__ = ["MUTANTS", "Mutant", "Outcome", "mutated", "run"]

SOURCES = Sources(package.__name__, (Path(package.__file__).parent / "reference.py",))
#: The largest case the mutants run on (a larger one adds seconds per mutant and no new fault).
MAX_BOXES = 1000

MUTANTS: tuple[Mutant, ...] = (
    Mutant("greater-or-equal", "suppresses at IoU == threshold (>= for >)", (("reference", "hit = iou > t", "hit = iou >= t"),)),
    Mutant("pixel-inclusive", "widths x2 - x1 + 1", (
        ("reference", "iw_raw = np.minimum(ix2, x2) - np.maximum(ix1, x1)", "iw_raw = np.minimum(ix2, x2) - np.maximum(ix1, x1) + 1"),
        ("reference", "ih_raw = np.minimum(iy2, y2) - np.maximum(iy1, y1)", "ih_raw = np.minimum(iy2, y2) - np.maximum(iy1, y1) + 1"),
        ("reference", "area_i = (ix2 - ix1) * (iy2 - iy1)", "area_i = (ix2 - ix1 + 1) * (iy2 - iy1 + 1)"),
        ("reference", "area = (x2 - x1) * (y2 - y1)", "area = (x2 - x1 + 1) * (y2 - y1 + 1)"),
    )),
    Mutant("ties-by-descending-index", "equal scores visited from the highest index", (("reference", "np.lexsort((np.arange(len(s)),", "np.lexsort((-np.arange(len(s)),"),)),
    Mutant("unclamped-overlap", "overlap widths not clamped at 0 (two negatives overlap)", (
        ("reference", "return np.where(width > 0, width,", "return np.where(True, width,"),)),
    Mutant("nan-scores-last", "NaN scores visited last", (("reference", "rank_nan = np.isnan(s).astype(np.int8)", "rank_nan = -np.isnan(s).astype(np.int8)"),)),
    Mutant("sorted-positions", "returns positions in the sorted order", (("reference", 'keep = kept_pos if sem.output == "position" else order[kept_pos]', "keep = kept_pos"),)),
    Mutant("overlap-over-smaller-area", "IoU divided by the smaller area", (("reference", "union = area_i + area - inter", "union = np.minimum(area_i, area)"),)),
    Mutant("threshold-in-float16", "threshold rounded to float16", (("reference", 'return float(np.asarray(threshold, dtype=np.float32).astype(dtype)) if sem.threshold == "dtype" else float(threshold)', "return float(np.float16(threshold))"),)),
)


def mutated(m: Mutant) -> types.ModuleType:
    """A copy of the reference with the mutant's edits, usable after sys.modules is restored."""
    with mutation.loaded(m, SOURCES) as modules:
        return modules["reference"]


def _result(module: types.ModuleType, case: Case) -> RunResult:
    header = {"attrs": case.attrs.to_json(), "semantics": [semantics.DOCUMENTED.to_json()]}
    out = run_reference(header, dict(case.inputs), kernel=module)
    return RunResult(case.id, "torchvision", Status.OK, {"keep": out[f"{semantics.DOCUMENTED.key}.keep"]})


def run(cases: Sequence[Case], mutants: tuple[Mutant, ...] = MUTANTS) -> list[Outcome]:
    """Each mutant against the cases (those of at most MAX_BOXES boxes), stopping at the first in
    which the mutant's output, judged as torchvision's, is a MISMATCH."""
    small = [c for c in cases if len(c.inputs["scores"]) <= MAX_BOXES]
    refs = {}
    for case in small:
        header = {"attrs": case.attrs.to_json(), "port": case.port.value, "semantics": [s.to_json() for s in semantics.needed(case, ("torchvision",))]}
        refs[case.id] = RunResult(case.id, "reference", Status.OK, run_reference(header, dict(case.inputs)))

    def difference(modules: Modules, case: Case) -> str | None:
        judged = judge(case, {"torchvision": _result(modules["reference"], case)}, refs[case.id])
        bad = next((c for c in judged if c.verdict is Verdict.MISMATCH), None)
        return None if bad is None else f"{bad.actual} vs {bad.expected}: MISMATCH ({bad.message})"

    return mutation.run(mutants, small, SOURCES, difference)
