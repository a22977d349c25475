"""Mutation testing of box_iou's suites: inject plausible faults into a copy of the reference (and
of the domain it checks) and require that some case tells each faulty reference from the real one.

A suite that cannot kill a mutant cannot catch the same bug in a framework: with no disjoint
pair of boxes, a missing clamp of the negative overlap goes unseen; with square inputs only, a
transposed result does.  A mutant is killed by a case when, under some semantics a verdict is
judged against (each framework's documented one, or a declared prediction), the mutant's result
differs from the true one beyond the tolerance and rounding bound, changes shape, raises, or
defines what the true reference leaves undefined (or the reverse): in each, the verdict of a
framework that matches the true reference would change.  An edit that no longer matches its
source exactly once is an error, so a mutant cannot silently stop mutating.
"""
from __future__ import annotations

import types
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from parity.engine import compare, mutation
from parity.engine.errors import InvalidInput
from parity.engine.model import Case
from parity.engine.mutation import Modules, Mutant, Outcome, Sources
from parity.ops import box_iou as package
from parity.ops.box_iou import reference, semantics

__all__ = ["MUTANTS", "Mutant", "Outcome", "run"]

#: The domain first: the reference imports it.
SOURCES = Sources(package.__name__, tuple(Path(package.__file__).parent / f"{name}.py" for name in ("domain", "reference")))
FRAMEWORKS = ("torchvision", "mindspore")


MUTANTS: tuple[Mutant, ...] = (
    Mutant("pixel-inclusive-widths", "every width x2 - x1 + 1", (("reference", "one = 1.0 if sem.plus_one else 0.0", "one = 1.0"),)),
    Mutant("no-overlap-clamp", "negative overlap widths not clamped at 0", (("reference", "iw, ih = np.maximum(iw, 0.0), np.maximum(ih, 0.0)", "iw, ih = iw, ih"),)),
    Mutant("union-keeps-intersection", "union as area1 + area2, the intersection not subtracted", (("reference", "den = ra + ca - inter + sem.eps", "den = ra + ca + sem.eps"),)),
    Mutant(
        "transposed-orientation",
        "the result indexed [M, N] (rows and columns swapped)",
        (("reference", "rows, cols = np.asarray(inputs[sem.rows]), np.asarray(inputs[sem.cols])", "rows, cols = np.asarray(inputs[sem.cols]), np.asarray(inputs[sem.rows])"),),
    ),
    Mutant("iof-other-box-area", "iof divided by the anchor's area instead of the gt box's", (("reference", "den, dene = ra + sem.eps, rae + u * np.abs(ra)", "den, dene = ca + sem.eps, cae + u * np.abs(ca)"),)),
    Mutant("iof-as-iou", "mode iof computed as iou", (("reference", 'if sem.mode == "iof":', "if False:"),)),
    Mutant("overlap-left-by-min", "the overlap's left edge as min(x1) instead of max(x1)", (("reference", "np.maximum(rx1, cx1)", "np.minimum(rx1, cx1)"),)),
    Mutant("translation-shift-ignored", "the exact translation's x2 - 1, y2 - 1 not applied", (("reference", "    if not sem.shift:\n", "    if True:\n"),)),
    Mutant(
        "zero-extent-box-accepted",
        "x1 > x2 instead of x1 >= x2: a zero-width box taken as inside the documented domain",
        (("domain", "if (v[..., 0] >= v[..., 2]).any() or (v[..., 1] >= v[..., 3]).any():", "if (v[..., 0] > v[..., 2]).any() or (v[..., 1] > v[..., 3]).any():"),),
    ),
    Mutant("negative-coordinates-accepted", "torchvision's 0 <= x1 not checked", (("domain", "if nonnegative and (v < 0).any():", "if False:"),)),
)


def _semantics(case: Case) -> list[reference.Semantics]:
    return semantics.needed(case, FRAMEWORKS)


def _truth(case: Case, sem: reference.Semantics) -> tuple[np.ndarray, np.ndarray] | str:
    try:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return reference.evaluate(case.inputs, sem)
    except InvalidInput as exc:
        return f"undefined ({exc})"


def _difference(module: types.ModuleType, case: Case, sem: reference.Semantics, good: tuple[np.ndarray, np.ndarray] | str) -> str | None:
    """How the mutant's result under ``sem`` differs from the true one (None: indistinguishable)."""
    try:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            bad = module.evaluate(case.inputs, module.Semantics(**sem.to_json()))
    except InvalidInput as exc:
        return None if isinstance(good, str) else f"{sem.key}: undefined ({exc}) where the reference has a result"
    except Exception as exc:  # a mutant that breaks is caught as surely as a wrong number
        return f"{sem.key}: raises {type(exc).__name__}"
    if isinstance(good, str):
        return f"{sem.key}: a result where the reference has none: {good}"
    problem = compare.shape_problem(bad[0], good[0])
    if problem:
        return f"{sem.key}: {problem}"
    dtype = sem.compute or reference.arithmetic(case.dtype)
    m = compare.metrics(bad[0], good[0], compare.tolerance_for(dtype), dtype, good[1])
    if not m.mismatched:
        return None
    nan = f", {m.nan_mismatch} NaN/Inf where numbers are due" if m.nan_mismatch else ""
    return f"{sem.key}: {m.mismatched}/{m.total} elements{nan}, max finite diff {m.max_abs:.3g}"


def _mutated(mutant: Mutant) -> AbstractContextManager[Modules]:
    """The copies of the domain and the reference with the mutant's edits (sys.modules restored after)."""
    return mutation.loaded(mutant, SOURCES)


def run(cases: list[Case], mutants: tuple[Mutant, ...] = MUTANTS) -> list[Outcome]:
    """Each mutant against the cases, stopping at the first case that kills it."""
    truths = {(c.id, s.key): _truth(c, s) for c in cases for s in _semantics(c)}

    def difference(modules: Modules, case: Case) -> str | None:
        module = modules["reference"]
        return next((d for s in _semantics(case) if (d := _difference(module, case, s, truths[(case.id, s.key)]))), None)

    return mutation.run(mutants, cases, SOURCES, difference)
