"""Mutation testing of the suite: inject known faults into a copy of the reference and check that
some case of the suite tells each faulty kernel from the real one.

A suite that cannot kill a mutant cannot catch the same bug in a framework (a constant feature
map passes any sampling offset).  Each mutant is a set of source edits to a fresh copy of the
reference's modules (parity/ops/roi_align/geometry.py, float16_serial.py, reference.py, and kernel.py:
the copy of the kernel compiled afresh, uncached); an edit that no longer matches the source exactly
once is an error, so the mutants cannot silently stop mutating.
"""
from __future__ import annotations

import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from parity.engine import compare
from parity.ops import roi_align as package
from parity.ops.roi_align import bounds
from parity.ops.roi_align import reference
from parity.ops.roi_align.divergence import documented_semantics
from parity.engine.errors import InvalidInput, ParityError
from parity.ops.roi_align.mapping import Semantics
from parity.engine.model import Case

#: The reference's modules, each after the ones it imports (a copy imports the copies before it).
_MODULES = ("kernel", "geometry", "float16_serial", "reference")
_SOURCES = {name: Path(package.__file__).parent / f"{name}.py" for name in _MODULES}
_PACKAGE = package.__name__


@dataclass(frozen=True)
class Mutant:
    """A named fault: (file, exact source text, replacement) edits."""

    name: str
    fault: str
    edits: tuple[tuple[str, str, str], ...]


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


@contextmanager
def _mutated(mutant: Mutant) -> Iterator[types.ModuleType]:
    """A fresh copy of the reference's modules (and of the kernel, when the mutant edits it) with the edits applied."""
    sources = {name: path.read_text() for name, path in _SOURCES.items()}
    for file, old, new in mutant.edits:
        found = sources[file].count(old)
        if found != 1:
            raise ParityError(f"mutant {mutant.name}: {old!r} occurs {found} times in {file}.py (expected once)")
        sources[file] = sources[file].replace(old, new)
    # A copy has no file for numba to cache against; a mutant that leaves the kernel alone uses the real one.
    edits_kernel = any(file == "kernel" for file, _, _ in mutant.edits)
    copies = [name for name in _MODULES if name != "kernel" or edits_kernel]
    sources["kernel"] = sources["kernel"].replace("cache=True", "cache=False")
    saved = {name: sys.modules.get(f"{_PACKAGE}.{name}") for name in _SOURCES}
    saved_attr = package.kernel
    try:
        modules = {}
        # in import order: each copy imports the copies before it (``from parity.ops.roi_align.geometry
        # import ...`` finds them in sys.modules); the package attributes stay the real modules, but
        # for the kernel, which the reference imports as one
        for name in copies:
            module = types.ModuleType(f"{_PACKAGE}.{name}")
            sys.modules[module.__name__] = module
            if name == "kernel":
                package.kernel = module  # `from parity.ops.roi_align import kernel` reads the attribute
            exec(compile(sources[name], f"<mutant {mutant.name}: {name}.py>", "exec"), module.__dict__)
            modules[name] = module
        yield modules["reference"]
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(f"{_PACKAGE}.{name}", None)
            else:
                sys.modules[f"{_PACKAGE}.{name}"] = previous
        package.kernel = saved_attr


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    killed_by: str | None  # the first case that tells it apart, None if it survived
    how: str


def _evaluate(module: types.ModuleType, case: Case, sem: Semantics) -> np.ndarray:
    conv = module.Convention(**{f: getattr(sem.convention, f) for f in sem.convention.__dataclass_fields__})
    a = case.attrs
    out: np.ndarray = module.roi_align(
        case.features.astype(np.float64), case.rois.astype(np.float64), a.output_size, a.spatial_scale, sem.sampling_ratio, conv
    )
    return out


def run(cases: list[Case]) -> list[Outcome]:
    """Each mutant against the suite, stopping at the first case that kills it."""
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

    outcomes = []
    for mutant in MUTANTS:
        outcome = Outcome(mutant, None, "")
        with _mutated(mutant) as module:
            for case in cases:
                for sem in {documented_semantics(fw, case.attrs, case.port).key: documented_semantics(fw, case.attrs, case.port) for fw in ("torchvision", "mindspore")}.values():
                    good = truth(case, sem)
                    if good is None:
                        continue
                    try:
                        bad = _evaluate(module, case, sem)
                    except Exception as exc:  # a mutant that breaks is caught as surely as a wrong number
                        outcome = Outcome(mutant, case.id, f"raises {type(exc).__name__}")
                        break
                    m = compare.metrics(bad, good[0], compare.tolerance_for(case.dtype), case.dtype, good[1])
                    if m.mismatched:
                        nan = f", {m.nan_mismatch} NaN/Inf where numbers are due" if m.nan_mismatch else ""
                        how = f"{m.mismatched}/{m.total} elements{nan}, max finite diff {m.max_abs:.3g}"
                        outcome = Outcome(mutant, case.id, how)
                        break
                if outcome.killed_by:
                    break
        outcomes.append(outcome)
    return outcomes
