"""Mutation testing of roi_align's suite: known faults injected into a copy of the reference
(parity.engine.mutation runs them); some case of the suite must tell each faulty kernel from the
real one.

A constant feature map passes any sampling offset: a suite that cannot kill a mutant cannot catch
the same bug in a framework.  The copies are of parity/ops/roi_align/geometry.py,
float16_serial.py, reference.py and, for a mutant that edits it, kernel.py (compiled afresh,
uncached).  A mutant is killed by a case when, under some framework's documented semantics, the
copy's result differs from the true one beyond the tolerance and rounding bound, or it raises.
"""
from __future__ import annotations

import types
from pathlib import Path

import numpy as np

from parity.engine import compare, mutation
from parity.engine.errors import InvalidInput
from parity.engine.model import Case
from parity.engine.mutation import Modules, Mutant, Outcome, Sources
from parity.ops import roi_align as package
from parity.ops.roi_align import bounds, reference
from parity.ops.roi_align.divergence import documented_semantics
from parity.ops.roi_align.mapping import Semantics

__all__ = ["MUTANTS", "Mutant", "Outcome", "run"]

FRAMEWORKS = ("torchvision", "mindspore")


def _uncached(stem: str, text: str) -> str:
    """A copy has no file for numba to cache against: its kernel compiles with ``cache=False``."""
    return text.replace("cache=True", "cache=False") if stem == "kernel" else text


#: The reference's modules, each after the ones it imports.  A copy has no file for numba to
#: cache against (it compiles afresh, uncached), so a mutant that leaves the kernel alone uses the
#: real one; the reference imports the kernel as ``from parity.ops.roi_align import kernel``, so a
#: copy of it is also the package's attribute while it is loaded.
SOURCES = Sources(
    package.__name__,
    tuple(Path(package.__file__).parent / f"{name}.py" for name in ("kernel", "geometry", "float16_serial", "reference")),
    only_if_edited=frozenset({"kernel"}),
    rebind=("kernel",),
    prepare=_uncached,
)

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "half-pixel-shift",
        "the roi window shifted by half a pixel in x",
        (
            ("geometry", "x1 = g[:, 1] * scale - offset", "x1 = g[:, 1] * scale - offset - t(0.5)"),
            ("geometry", "x2 = (g[:, 3] + pad) * scale - offset", "x2 = (g[:, 3] + pad) * scale - offset - t(0.5)"),
        ),
    ),
    Mutant("no-min-size-clamp", "roi size not clamped to >= 1", (("geometry", "if conv.min_size is not None:", "if False:"),)),
    Mutant(
        "floor-adaptive-grid",
        "floor instead of ceil in adaptive sampling",
        (("geometry", 'np.ceil(bins) if conv.adaptive_grid == "ceil" else np.floor(bins)', "np.floor(bins)"),),
    ),
    Mutant(
        "no-divisor-guard",
        "divisor gh*gw without the max(., 1) guard (0/0 for an empty grid)",
        (("reference", "if convention.empty_grid_nan:", "if True:"),),
    ),
    Mutant(
        "no-out-of-image-rule",
        "samples outside [-1, size] not zeroed",
        (("kernel", "if not (y >= -1.0 and y <= h and x >= -1.0 and x <= w):", "if False:"),),
    ),
    Mutant(
        "swapped-bilinear-weights",
        "low and high corner weights swapped",
        (("kernel", "hy * hx, hy * lx, ly * hx, ly * lx, True,", "ly * lx, ly * hx, hy * lx, hy * hx, True,"),),
    ),
    Mutant(
        "off-by-one-bin",
        "bin p sampled at bin p + 1",
        (("geometry", "start[roi] + p.astype(start.dtype) * b", "start[roi] + (p + 1).astype(start.dtype) * b"),),
    ),
    Mutant(
        "round-batch-index",
        "batch index rounded instead of truncated",
        (("geometry", "truncated: np.ndarray = np.trunc(b)", "truncated: np.ndarray = np.rint(b)"),),
    ),
    Mutant(
        "samples-at-bin-start",
        "samples at the start of their sub-bin instead of its centre",
        (("geometry", "(i.astype(start.dtype) + t(0.5)) * b", "i.astype(start.dtype) * b"),),
    ),
    Mutant(
        "no-clamp-at-zero",
        "coordinates in [-1, 0) not clamped to 0",
        (("kernel", "if y <= 0.0:\n        y = 0.0\n    if x <= 0.0:\n        x = 0.0\n", "y = abs(y)\n    x = abs(x)\n"),),
    ),
)


def _evaluate(module: types.ModuleType, case: Case, sem: Semantics) -> np.ndarray:
    conv = module.Convention(**{f: getattr(sem.convention, f) for f in sem.convention.__dataclass_fields__})
    a = case.attrs
    out: np.ndarray = module.roi_align(
        case.features.astype(np.float64), case.rois.astype(np.float64), a.output_size, a.spatial_scale, sem.sampling_ratio, conv
    )
    return out


def _semantics(case: Case) -> list[Semantics]:
    """Each documented semantics the case is judged against, once per distinct key."""
    found = {s.key: s for s in (documented_semantics(fw, case.attrs, case.port) for fw in FRAMEWORKS)}
    return list(found.values())


def run(cases: list[Case], mutants: tuple[Mutant, ...] | None = None) -> list[Outcome]:
    """Each mutant (default: MUTANTS) against the suite, stopping at the first case that kills it."""
    expected: dict[tuple[str, str], tuple[np.ndarray, np.ndarray] | None] = {}

    def truth(case: Case, sem: Semantics) -> tuple[np.ndarray, np.ndarray] | None:
        key = (case.id, sem.key)
        if key not in expected:
            a = case.attrs
            args = (case.rois.astype(np.float64), a.output_size, a.spatial_scale, sem.sampling_ratio, sem.convention)
            try:
                x = case.features.astype(np.float64)
                expected[key] = (reference.roi_align(x, *args), bounds.rounding_bound(x, *args, dtype=case.dtype))
            except InvalidInput:
                expected[key] = None
        return expected[key]

    def difference(modules: Modules, case: Case) -> str | None:
        for sem in _semantics(case):
            good = truth(case, sem)
            if good is None:
                continue
            try:
                bad = _evaluate(modules["reference"], case, sem)
            except Exception as exc:  # a mutant that breaks is caught as surely as a wrong number
                return f"raises {type(exc).__name__}"
            m = compare.metrics(bad, good[0], compare.tolerance_for(case.dtype), case.dtype, good[1])
            if m.mismatched:
                nan = f", {m.nan_mismatch} NaN/Inf where numbers are due" if m.nan_mismatch else ""
                return f"{m.mismatched}/{m.total} elements{nan}, max finite diff {m.max_abs:.3g}"
        return None

    return mutation.run(MUTANTS if mutants is None else mutants, cases, SOURCES, difference)
