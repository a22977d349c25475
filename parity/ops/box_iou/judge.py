"""Verdicts for one box_iou case: each framework against the reference under its documented
semantics (or a declared prediction), then each framework against torchvision.

A framework that departs from its documented semantics is EXPECTED_DIVERGENCE only when a
declared prediction says exactly what it computes (held to the prediction's rounding bound and
result dtype) or how it reacts (a behaviour prediction), DIVERGENCE_CHANGED when a prediction
applies but it matches none, MISMATCH otherwise.  The result's dtype is checked before its
values: float32 for a float16 case is not the documented result, however close its numbers.
Where the rounding bound is not small against the value (or the dtype's range is exceeded), the
verdict is UNDECIDABLE, never PASS.  Input outside a framework's documented domain
(parity.ops.box_iou.domain) has no reference result for it: raising is PASS, silent output is
MISMATCH unless declared.
"""
from __future__ import annotations

import numpy as np

from parity.engine import compare, pairs
from parity.engine.behaviour import behaviour, describe_behaviour, failure_verdict
from parity.engine.model import EXPLAINED, NOT_BLAMED, Case, Comparison, Metrics, RunResult, Status, Tolerance, Verdict
from parity.engine.op import REFERENCE
from parity.ops.box_iou import divergences, semantics
from parity.ops.box_iou.reference import OUT_OF_RANGE, Semantics, arithmetic, result_dtype
from parity.ops.box_iou.reference_runner import BOUND, UNDEFINED

SOURCE = "torchvision"


def _tolerance(dtype: str, pair: bool = False) -> Tolerance:
    base = compare.tolerance_for(dtype)
    if pair:
        return Tolerance(2 * base.rtol, 2 * base.atol, f"twice the {dtype} default plus both sides' derived rounding bounds")
    return Tolerance(base.rtol, base.atol, f"{base.reason}, plus the derived {dtype} rounding bound of each element")


def _beyond_range(bound: np.ndarray | float, expected: np.ndarray) -> np.ndarray:
    """Elements with an exact (finite) result that the dtype's range cannot hold: any value there,
    inf or NaN, is the dtype's.  An exact NaN (NaN input, 0 / 0) is not among them: it is held."""
    e = np.asarray(expected, dtype=np.float64)
    return np.broadcast_to(np.asarray(bound) >= OUT_OF_RANGE, e.shape) & np.isfinite(e)


def _within(out: np.ndarray, expected: np.ndarray, bound: np.ndarray | float, tol: Tolerance, dtype: str, want: str | None = None) -> tuple[bool, Metrics | None, str]:
    """Shape, then (with ``want``) the result dtype, then the values; metrics whenever shapes agree."""
    problem = compare.shape_problem(out, expected)
    if problem:
        return False, None, problem
    # judged by _decide there (UNDECIDABLE), never counted as a wrong number
    beyond = _beyond_range(bound, expected)
    m = compare.metrics(np.where(beyond, expected, out), expected, tol, dtype, bound)
    note = f" ({int(beyond.sum())} elements beyond the {dtype} range not judged on value)" if beyond.any() else ""
    if want is not None and out.dtype != np.dtype(want):
        return False, m, f"dtype {out.dtype} where {want} was expected; values: {compare.describe(m, tol)}{note}"
    return m.mismatched == 0, m, compare.describe(m, tol) + note


def _decide(c: Comparison, tol: Tolerance, bound: np.ndarray | float, expected: np.ndarray, out: np.ndarray) -> Comparison:
    """PASS / EXPECTED_DIVERGENCE only where the dtype can decide; UNDECIDABLE with its evidence otherwise."""
    beyond = _beyond_range(bound, expected)
    u = compare.undecided(tol, bound, np.abs(expected), expected, np.where(beyond, expected, out))
    if u is None:
        return c
    return Comparison(c.case_id, c.actual, c.expected, Verdict.UNDECIDABLE, c.tolerance, c.metrics, f"{u.describe()}. {c.message}", c.divergence, u)


def _held(case: Case, out: np.ndarray, sem: Semantics, ref: dict[str, np.ndarray]) -> tuple[bool, Metrics | None, str, Tolerance]:
    """``out`` against ``sem``'s result: its dtype, then its values within ``sem``'s rounding."""
    dtype = sem.compute or arithmetic(case.dtype)
    tol = _tolerance(dtype)
    ok, m, msg = _within(out, ref[sem.key], ref[sem.key + BOUND], tol, dtype, result_dtype(case.inputs, sem))
    return ok, m, msg, tol


def _behaviour_declared(case: Case, fw: str, result: RunResult) -> str | None:
    """The divergence whose behaviour prediction this reaction matches, if any."""
    b = behaviour(result)
    out = result.outputs.get("out")
    for d in divergences.applicable(case, fw):
        p = d.behaviour
        if p is None or not b.startswith(p.kind) or (p.message is not None and p.message not in result.message):
            continue
        if p.dtype is None or (out is not None and out.dtype == np.dtype(p.dtype)):
            return d.name
    return None


def _own(case: Case, fw: str, result: RunResult, ref: dict[str, np.ndarray], undefined_all: str | None) -> Comparison:
    doc = semantics.documented(fw, case)
    undefined = undefined_all or (str(ref[doc.key + UNDEFINED]) if doc.key + UNDEFINED in ref else None)
    declared = _behaviour_declared(case, fw, result)
    if result.status is not Status.OK:
        what = describe_behaviour(result)
        if declared:
            return Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, None, None, f"{what} (declared: {declared})", declared)
        if undefined is not None and result.status is Status.ERROR:
            return Comparison(case.id, fw, REFERENCE, Verdict.PASS, None, None, f"rejects input outside its documented domain ({undefined}): {result.message}")
        return Comparison(case.id, fw, REFERENCE, failure_verdict(result.status), None, None, what)
    out = result.outputs["out"]
    m = None
    if undefined is None:
        ok, m, msg, tol = _held(case, out, doc, ref)
        if ok:
            return _decide(Comparison(case.id, fw, REFERENCE, Verdict.PASS, tol, m, msg), tol, ref[doc.key + BOUND], ref[doc.key], out)
    predictions = [(n, s) for n, s in semantics.predicted(fw, case) if s.key in ref]
    for name, sem in predictions:
        held, pm, pmsg, ptol = _held(case, out, sem, ref)
        if held:
            size = ((name, m.max_abs),) if m is not None else ()
            c = Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, ptol, pm, f"follows the declared prediction of {name}: {pmsg}", name, explained=size)
            return _decide(c, ptol, ref[sem.key + BOUND], ref[sem.key], out)
    if declared:
        return Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, None, None, f"{describe_behaviour(result)} (declared: {declared})", declared)
    if undefined is not None:
        msg = f"silent {describe_behaviour(result)} for input outside its documented domain ({undefined})"
        return Comparison(case.id, fw, REFERENCE, Verdict.MISMATCH, None, None, msg)
    if predictions:
        names = ", ".join(n for n, _ in predictions)
        return Comparison(case.id, fw, REFERENCE, Verdict.DIVERGENCE_CHANGED, tol, m, f"matches neither its documented semantics nor the prediction of {names}: {msg}", names)
    return Comparison(case.id, fw, REFERENCE, Verdict.MISMATCH, tol, m, msg)


def _documented_differences(case: Case, fw: str) -> list[str]:
    return [d.name for d in divergences.applicable(case, fw) if d.predict is None and d.behaviour is None]


def _pair(case: Case, fw: str, results: dict[str, RunResult], own: dict[str, Comparison], ref: dict[str, np.ndarray]) -> Comparison:
    a, b = results[fw], results[SOURCE]
    names = _documented_differences(case, fw) + [c.divergence for c in own.values() if c.divergence and c.verdict in (Verdict.EXPECTED_DIVERGENCE, Verdict.UNDECIDABLE)]
    unique = tuple(dict.fromkeys(names))
    if a.status is not Status.OK or b.status is not Status.OK:
        worst = a if a.status is not Status.OK else b
        msg = f"{fw}: {describe_behaviour(a)}; {SOURCE}: {describe_behaviour(b)}"
        if Status.UNSUPPORTED in (a.status, b.status):
            return Comparison(case.id, fw, SOURCE, Verdict.UNSUPPORTED, None, None, f"{worst.runner}: {describe_behaviour(worst)}")
        if behaviour(a) == behaviour(b) == "raises":
            return Comparison(case.id, fw, SOURCE, Verdict.PASS, None, None, f"both raise. {msg}")
        if unique and all(c.verdict in EXPLAINED for c in own.values()):
            return Comparison(case.id, fw, SOURCE, Verdict.EXPECTED_DIVERGENCE, None, None, f"explained by {', '.join(unique)}: {msg}", ", ".join(unique))
        verdict = Verdict.MISMATCH if case.invalid and worst.status is Status.ERROR else failure_verdict(worst.status)
        return Comparison(case.id, fw, SOURCE, verdict, None, None, msg)
    dtype = arithmetic(case.dtype)
    tol = _tolerance(dtype, pair=True)
    keys = [semantics.documented(r, case).key + BOUND for r in (fw, SOURCE)]
    bounds = [ref[k] for k in keys if k in ref]
    bound = bounds[0] + bounds[1] if len(bounds) == 2 and bounds[0].shape == bounds[1].shape else (bounds[-1] if bounds else 0.0)
    ok, m, msg = _within(a.outputs["out"], b.outputs["out"], bound, tol, dtype)
    if ok:
        c = Comparison(case.id, fw, SOURCE, Verdict.PASS, tol, m, msg)
        return _decide(c, tol, bound, b.outputs["out"].astype(np.float64), a.outputs["out"])
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
    undefined_all = ref_result.message if ref_result.status is Status.UNSUPPORTED else None
    if ref_result.status is not Status.OK and undefined_all is None:
        return [Comparison(case.id, REFERENCE, REFERENCE, Verdict.ERROR, None, None, f"the reference failed: {ref_result.message}")]
    ref = ref_result.outputs
    own = {fw: _own(case, fw, res, ref, undefined_all) for fw, res in results.items()}
    comparisons = list(own.values())
    for fw, source in pairs.framework_pairs(sorted(results, key=lambda f: f != SOURCE)):  # against torchvision
        comparisons.append(_pair(case, fw, results, {k: own[k] for k in (fw, source)}, ref))
    return comparisons
