"""Verdicts for one box_iou case: each framework against the reference under its documented
semantics (or a declared prediction), then each framework against torchvision.

A framework that departs from its documented semantics is EXPECTED_DIVERGENCE only when a
declared prediction says exactly what it computes (held to the prediction's rounding bound),
DIVERGENCE_CHANGED when a prediction applies but it matches neither, MISMATCH otherwise.  Where
the rounding bound is not small against the value (or the dtype's range is exceeded), the verdict
is UNDECIDABLE, never PASS.
"""
from __future__ import annotations

import numpy as np

from parity.engine import compare
from parity.engine.behaviour import describe_behaviour, failure_verdict
from parity.engine.model import EXPLAINED, NOT_BLAMED, Case, Comparison, RunResult, Status, Tolerance, Verdict
from parity.engine.op import REFERENCE
from parity.ops.box_iou import divergences, semantics
from parity.ops.box_iou.reference_runner import BOUND

SOURCE = "torchvision"


def _tolerance(dtype: str, pair: bool = False) -> Tolerance:
    base = compare.tolerance_for(dtype)
    if pair:
        return Tolerance(2 * base.rtol, 2 * base.atol, f"twice the {dtype} default plus both sides' derived rounding bounds")
    return Tolerance(base.rtol, base.atol, f"{base.reason}, plus the derived {dtype} rounding bound of each element")


def _within(out: np.ndarray, expected: np.ndarray, bound: np.ndarray, tol: Tolerance, dtype: str) -> tuple[bool, object, str]:
    problem = compare.shape_problem(out, expected)
    if problem:
        return False, None, problem
    m = compare.metrics(out, expected, tol, dtype, bound)
    return m.mismatched == 0, m, compare.describe(m, tol)


def _decide(c: Comparison, tol: Tolerance, bound: np.ndarray, expected: np.ndarray, out: np.ndarray) -> Comparison:
    """PASS / EXPECTED_DIVERGENCE only where the dtype can decide; UNDECIDABLE with its evidence otherwise."""
    u = compare.undecided(tol, bound, np.abs(expected), expected, out)
    if u is None:
        return c
    return Comparison(c.case_id, c.actual, c.expected, Verdict.UNDECIDABLE, c.tolerance, c.metrics, f"{u.describe()}. {c.message}", c.divergence, u)


def _own(case: Case, fw: str, result: RunResult, ref: dict[str, np.ndarray]) -> Comparison:
    if result.status is not Status.OK:
        return Comparison(case.id, fw, REFERENCE, failure_verdict(result.status), None, None, describe_behaviour(result))
    out, dtype = result.outputs["out"], case.dtype
    tol = _tolerance(dtype)
    doc = semantics.documented(fw, case)
    ok, m, msg = _within(out, ref[doc.key], ref[doc.key + BOUND], tol, dtype)
    if ok:
        c = Comparison(case.id, fw, REFERENCE, Verdict.PASS, tol, m, msg)
        return _decide(c, tol, ref[doc.key + BOUND], ref[doc.key], out)
    predictions = semantics.predicted(fw, case)
    for name, sem in predictions:
        held, pm, pmsg = _within(out, ref[sem.key], ref[sem.key + BOUND], tol, dtype)
        if held:
            size = ((name, m.max_abs),) if m is not None else ()
            c = Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, tol, m, f"follows the declared prediction of {name}: {pmsg}", name, explained=size)
            return _decide(c, tol, ref[sem.key + BOUND], ref[sem.key], out)
    if predictions:
        names = ", ".join(n for n, _ in predictions)
        return Comparison(case.id, fw, REFERENCE, Verdict.DIVERGENCE_CHANGED, tol, m, f"matches neither its documented semantics nor the prediction of {names}: {msg}", names)
    c = Comparison(case.id, fw, REFERENCE, Verdict.MISMATCH, tol, m, msg)
    return c


def _pair(case: Case, fw: str, results: dict[str, RunResult], own: dict[str, Comparison], ref: dict[str, np.ndarray]) -> Comparison:
    a, b = results[fw], results[SOURCE]
    if a.status is not Status.OK or b.status is not Status.OK:
        worst = a if a.status is not Status.OK else b
        verdict = failure_verdict(worst.status)
        return Comparison(case.id, fw, SOURCE, verdict, None, None, f"{worst.runner}: {describe_behaviour(worst)}")
    dtype = case.dtype
    tol = _tolerance(dtype, pair=True)
    bounds = [ref[semantics.documented(r, case).key + BOUND] for r in (fw, SOURCE)]
    bound = bounds[0] + bounds[1] if bounds[0].shape == bounds[1].shape else bounds[1]
    ok, m, msg = _within(a.outputs["out"], b.outputs["out"], bound, tol, dtype)
    names = [d.name for d in divergences.applicable(case, fw) if d.predict is None]
    names += [c.divergence for c in own.values() if c.divergence and c.verdict in (Verdict.EXPECTED_DIVERGENCE, Verdict.UNDECIDABLE)]
    if ok:
        c = Comparison(case.id, fw, SOURCE, Verdict.PASS, tol, m, msg)
        return _decide(c, tol, bound, b.outputs["out"].astype(np.float64), a.outputs["out"])
    unique = tuple(dict.fromkeys(names))
    size = tuple((n, m.max_abs) for n in unique) if m is not None else ()
    if unique and all(c.verdict in EXPLAINED for c in own.values()):
        return Comparison(case.id, fw, SOURCE, Verdict.EXPECTED_DIVERGENCE, tol, m, f"explained by {', '.join(unique)}: {msg}", ", ".join(unique), explained=size)
    undecided = next((c for c in own.values() if c.verdict is Verdict.UNDECIDABLE), None)
    if unique and undecided is not None and all(c.verdict in NOT_BLAMED for c in own.values()):
        note = f"{undecided.actual}'s own result cannot be decided in {dtype}; the difference would be explained by {', '.join(unique)}"
        return Comparison(case.id, fw, SOURCE, Verdict.UNDECIDABLE, tol, m, f"{note}: {msg}", ", ".join(unique), undecided.undecided)
    return Comparison(case.id, fw, SOURCE, Verdict.MISMATCH, tol, m, msg)


def judge(case: Case, results: dict[str, RunResult], ref_result: RunResult) -> list[Comparison]:
    """Every comparison of ``case``: each framework vs the reference, then vs torchvision."""
    if ref_result.status is not Status.OK:
        return [Comparison(case.id, REFERENCE, REFERENCE, Verdict.ERROR, None, None, f"the reference failed: {ref_result.message}")]
    ref = ref_result.outputs
    own = {fw: _own(case, fw, res, ref) for fw, res in results.items()}
    comparisons = list(own.values())
    if SOURCE in results:
        for fw in results:
            if fw != SOURCE:
                comparisons.append(_pair(case, fw, results, {k: own[k] for k in (fw, SOURCE)}, ref))
    return comparisons
