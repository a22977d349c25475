"""Mutation testing of the suites: known faults injected into a copy of the reference NMS; some
case must tell each faulty NMS from the real one (a MISMATCH when judged as torchvision).

Each mutant is a set of exact source edits to a fresh copy of parity/ops/nms/reference.py; an
edit that no longer matches the source exactly once is an error, so mutants cannot silently stop
mutating.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from parity.engine.errors import ParityFailure
from parity.engine.model import Case, RunResult, Status, Verdict
from parity.ops.nms import reference, semantics

_SOURCE = Path(reference.__file__)


@dataclass(frozen=True)
class Mutant:
    name: str
    fault: str
    edits: tuple[tuple[str, str], ...]


MUTANTS: tuple[Mutant, ...] = (
    Mutant("greater-or-equal", "suppresses at IoU == threshold (>= for >)", (("hit = iou > t", "hit = iou >= t"),)),
    Mutant("pixel-inclusive", "widths x2 - x1 + 1", (
        ("iw_raw = np.minimum(ix2, x2) - np.maximum(ix1, x1)", "iw_raw = np.minimum(ix2, x2) - np.maximum(ix1, x1) + 1"),
        ("ih_raw = np.minimum(iy2, y2) - np.maximum(iy1, y1)", "ih_raw = np.minimum(iy2, y2) - np.maximum(iy1, y1) + 1"),
        ("area_i = (ix2 - ix1) * (iy2 - iy1)", "area_i = (ix2 - ix1 + 1) * (iy2 - iy1 + 1)"),
        ("area = (x2 - x1) * (y2 - y1)", "area = (x2 - x1 + 1) * (y2 - y1 + 1)"),
    )),
    Mutant("ties-by-descending-index", "equal scores visited from the highest index", (("np.lexsort((np.arange(len(s)),", "np.lexsort((-np.arange(len(s)),"),)),
    Mutant("unclamped-overlap", "overlap widths not clamped at 0 (two negatives overlap)", (
        ("return np.where(width > 0, width,", "return np.where(True, width,"),)),
    Mutant("nan-scores-last", "NaN scores visited last", (("rank_nan = np.isnan(s).astype(np.int8)", "rank_nan = -np.isnan(s).astype(np.int8)"),)),
    Mutant("sorted-positions", "returns positions in the sorted order", (('keep = kept_pos if sem.output == "position" else order[kept_pos]', "keep = kept_pos"),)),
    Mutant("overlap-over-smaller-area", "IoU divided by the smaller area", (("union = area_i + area - inter", "union = np.minimum(area_i, area)"),)),
    Mutant("threshold-in-float16", "threshold rounded to float16", (('return float(np.asarray(threshold, dtype=np.float32).astype(dtype)) if sem.threshold == "dtype" else float(threshold)', "return float(np.float16(threshold))"),)),
)


def mutated(m: Mutant) -> types.ModuleType:
    text = _SOURCE.read_text()
    for old, new in m.edits:
        if text.count(old) != 1:
            raise ParityFailure(f"mutant {m.name}: its edit no longer matches reference.py exactly once: {old!r}")
        text = text.replace(old, new)
    module = types.ModuleType(f"parity.ops.nms._mutant_{m.name.replace('-', '_')}")
    sys.modules[module.__name__] = module  # dataclasses resolve their module while it executes
    try:
        exec(compile(text, str(_SOURCE), "exec"), module.__dict__)  # noqa: S102 - our own source, edited
    finally:
        del sys.modules[module.__name__]
    return module


def _result(module: types.ModuleType, case: Case) -> RunResult:
    from parity.ops.nms.reference_runner import run

    header = {"attrs": case.attrs.to_json(), "semantics": [semantics.DOCUMENTED.to_json()]}
    out = run(header, dict(case.inputs), kernel=module)
    return RunResult(case.id, "torchvision", Status.OK, {"keep": out[f"{semantics.DOCUMENTED.key}.keep"]})


def first_kill(m: Mutant, cases: Iterable[Case]) -> str | None:
    """The first case in which the mutant, judged as torchvision, is a MISMATCH (None: it survives)."""
    from parity.ops.nms.judge import judge
    from parity.ops.nms.reference_runner import run

    module = mutated(m)
    for case in cases:
        header = {"attrs": case.attrs.to_json(), "port": case.port.value, "semantics": [s.to_json() for s in semantics.needed(case, ("torchvision",))]}
        ref = RunResult(case.id, "reference", Status.OK, run(header, dict(case.inputs)))
        got = _result(module, case)
        if any(c.verdict is Verdict.MISMATCH for c in judge(case, {"torchvision": got}, ref)):
            return case.id
    return None
