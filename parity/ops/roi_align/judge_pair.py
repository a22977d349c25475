"""Pair verdicts: a target framework against the source framework it is migrated from.

A difference is explained only by a declared divergence that concerns both frameworks and whose
predictions held (both own verdicts explained: parity.engine.model.NOT_BLAMED), never by a looser
tolerance; otherwise the verdict names who deviates from the reference.  A PASS stands only where
the pair can see the difference between the two documented semantics.  The second of the judge's
steps (parity.ops.roi_align.judge), on forward outputs and on gradients alike.
"""
from __future__ import annotations

import numpy as np

from parity.engine import compare
from parity.engine.behaviour import behaviour, describe_behaviour, failure_verdict
from parity.engine.model import NOT_BLAMED, Case, Comparison, RunResult, Status, Tolerance, Verdict
from parity.ops.roi_align.divergence import applicable, documented_semantics
from parity.ops.roi_align.judge_own import BOUND, SCALE, close, undecidable


def _pair_tolerance(dtype: str) -> Tolerance:
    base = compare.tolerance_for(dtype)
    reason = f"twice the {dtype} default plus twice the derived rounding bound: both sides are rounded results"
    return Tolerance(2 * base.rtol, 2 * base.atol, reason)


def documented_keys(case: Case, a: str, b: str, suffix: str = "") -> tuple[str, str]:
    """The reference outputs holding what ``a`` and ``b`` document for ``case`` (``suffix``: GRAD for gradients)."""
    return (documented_semantics(a, case.attrs, case.port).key + suffix, documented_semantics(b, case.attrs, case.port).key + suffix)


def pair_evidence(ref: dict[str, np.ndarray], keys: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For a pair whose documented semantics are ``keys``: the pair's bound (twice the larger of
    the two), the scale, and each side's exact result (their difference is what the pair must see)."""
    bound = 2 * np.maximum(*(ref[k + BOUND] for k in keys))
    scale = np.maximum(*(ref[k + SCALE] for k in keys))
    return bound, scale, ref[keys[0]], ref[keys[1]]


def pair_verdict(
    case: Case, a: str, b: str, results: dict[str, RunResult], own: dict[str, Comparison], ref_result: RunResult
) -> Comparison:
    """Target ``b`` against source ``a`` on the forward output: on behaviour when either has no output
    (both raising agrees; a declared failure on one side is explained), else on numbers (:func:`numeric_pair`)."""
    ra, rb = results[a], results[b]
    if Status.UNSUPPORTED in (ra.status, rb.status):
        down = ra if ra.status is Status.UNSUPPORTED else rb
        return Comparison(case.id, b, a, Verdict.UNSUPPORTED, None, None, f"{down.runner} has no output: {down.message}")
    if ra.status is not Status.OK or rb.status is not Status.OK:
        ba, bb = behaviour(ra), behaviour(rb)
        msg = f"{a}: {describe_behaviour(ra)}; {b}: {describe_behaviour(rb)}"
        if ba == bb == "raises":
            return Comparison(case.id, b, a, Verdict.PASS, None, None, f"both raise. {msg}")
        if all(own[f].verdict in NOT_BLAMED for f in (a, b)) and any(own[f].divergence for f in (a, b)):
            names = ", ".join(d for d in (own[a].divergence, own[b].divergence) if d)
            return Comparison(case.id, b, a, Verdict.EXPECTED_DIVERGENCE, None, None, f"declared ({names}): {msg}", names)
        down = ra if ra.status is not Status.OK else rb
        verdict = Verdict.MISMATCH if case.invalid and down.status is Status.ERROR else failure_verdict(down.status)
        return Comparison(case.id, b, a, verdict, None, None, msg)
    keys = documented_keys(case, a, b)
    evidence = None  # the input is undefined for one side: no rounding bound, nothing to decide
    if ref_result.status is Status.OK and all(k in ref_result.outputs for k in keys):
        evidence = pair_evidence(ref_result.outputs, keys)
    return numeric_pair(case, (a, b), (ra.outputs["out"], rb.outputs["out"]), own, evidence)


def numeric_pair(
    case: Case,
    frameworks: tuple[str, str],
    outputs: tuple[np.ndarray, np.ndarray],
    own: dict[str, Comparison],
    evidence: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
    backward: bool = False,
) -> Comparison:
    """Target vs source output (or gradient); a difference is explained only by a declared
    divergence that concerns both and whose predictions held (own verdicts PASS or EXPECTED).
    ``evidence`` (bound, scale, each side's exact result: :func:`_pair_evidence`) decides whether
    a PASS means anything: the pair must be able to see its documented difference."""
    tol = _pair_tolerance(case.dtype)
    bound = 0.0 if evidence is None else evidence[0]
    a, b = (f + (" (grad)" if backward else "") for f in frameworks)
    problem = compare.shape_problem(outputs[1], outputs[0])
    if problem is None and outputs[1].dtype != outputs[0].dtype:
        problem = f"dtype {outputs[1].dtype} where {a} returns {outputs[0].dtype}"
    if problem:
        return Comparison(case.id, b, a, Verdict.MISMATCH, tol, None, problem)
    ok, m, msg = close(outputs[1], outputs[0], tol, case.dtype, bound)
    if ok:
        c = Comparison(case.id, b, a, Verdict.PASS, tol, m, msg)
        if evidence is None:
            return c
        _, scale, exact_a, exact_b = evidence
        return undecidable(c, compare.undecided(tol, bound, scale, exact_b, outputs[1], exact_a))
    names = ", ".join(d.name for d in applicable(case) if d.concerns(frameworks, backward)) or None
    undecided = [f for f in frameworks if own[f].verdict is Verdict.UNDECIDABLE]
    if names and all(own[f].verdict in NOT_BLAMED for f in frameworks):
        if not undecided:
            return Comparison(case.id, b, a, Verdict.EXPECTED_DIVERGENCE, tol, m, f"declared ({names}): {msg}", names)
        why = f"differs as declared ({names}), but {', '.join(undecided)}'s own result cannot be decided in {case.dtype}"
        return Comparison(case.id, b, a, Verdict.UNDECIDABLE, tol, m, f"{why}: {own[undecided[0]].message}", names, own[undecided[0]].undecided)
    blame = [f for f in frameworks if own[f].verdict not in NOT_BLAMED]
    who = f"deviating from the reference: {', '.join(blame)}" if blame else "both follow their documented semantics"
    if undecided and not blame:
        who = f"{', '.join(undecided)}'s own result cannot be decided in {case.dtype}"
    verdict = Verdict.DIVERGENCE_CHANGED if names else Verdict.MISMATCH
    return Comparison(case.id, b, a, verdict, tol, m, f"{who}. {msg}", names)

