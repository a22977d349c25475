"""Verdicts for one case: each framework against the reference, then framework against framework.

Three-way blame: a framework is judged against the reference evaluated under what it
documents for its own call; the torchvision-vs-MindSpore pair is then explained by those
verdicts and by the declared divergences (parity.divergence), never by a looser tolerance.
"""
from __future__ import annotations

import numpy as np

from parity import compare
from parity.divergence import applicable, documented_semantics, predicted_semantics
from parity.mapping import Semantics
from parity.model import Case, Comparison, Metrics, RunResult, Status, Tolerance, Verdict

_STATUS_VERDICT = {
    Status.ERROR: Verdict.ERROR,
    Status.CRASH: Verdict.CRASH,
    Status.TIMEOUT: Verdict.TIMEOUT,
    Status.UNSUPPORTED: Verdict.UNSUPPORTED,
}
REFERENCE = "reference"
#: Suffixes of the reference outputs beside each result: its rounding bound
#: (parity.compare.rounding_bound) and the result with dtype-rounded sampling positions.
BOUND, GEOM = "|bound", "|geom"


def reference_semantics(case: Case, frameworks: tuple[str, ...]) -> list[Semantics]:
    """Every reference evaluation this case's verdicts need (documented + predicted), deduplicated."""
    wanted: dict[str, Semantics] = {}
    for fw in frameworks:
        for sem in (documented_semantics(fw, case.attrs, case.port), predicted_semantics(fw, case.attrs, case.port)):
            wanted.setdefault(sem.key, sem)
    return list(wanted.values())


def _reference_tolerance(dtype: str) -> Tolerance:
    base = compare.tolerance_for(dtype)
    reason = f"{base.reason}, plus the derived {dtype} rounding bound of each element (parity.compare.rounding_bound)"
    return Tolerance(base.rtol, base.atol, reason)


def _pair_tolerance(dtype: str) -> Tolerance:
    base = compare.tolerance_for(dtype)
    reason = f"twice the {dtype} default plus twice the derived rounding bound: both sides are rounded results"
    return Tolerance(2 * base.rtol, 2 * base.atol, reason)


def _close(
    actual: np.ndarray, expected: np.ndarray, tol: Tolerance, dtype: str, bound: np.ndarray | float
) -> tuple[bool, Metrics | None, str]:
    problem = compare.shape_problem(actual, expected)
    if problem:
        return False, None, problem
    m = compare.metrics(actual, expected, tol, dtype, bound)
    return m.mismatched == 0, m, compare.describe(m, tol)


def _close_to_reference(
    actual: np.ndarray, ref: dict[str, np.ndarray], key: str, tol: Tolerance, dtype: str
) -> tuple[bool, Metrics | None, str]:
    """Within tolerance of the exact reference, or of the reference whose sampling positions were
    rounded to ``dtype`` (a sample that rounding moves across the image border or a grid step
    legitimately changes a bin).  Metrics are always against the exact reference."""
    ok, m, msg = _close(actual, ref[key], tol, dtype, ref[key + BOUND])
    if not ok and m is not None:
        if _close(actual, ref[key + GEOM], tol, dtype, ref[key + BOUND])[0]:
            return True, m, f"within tolerance of the reference with {dtype}-rounded sampling positions. {msg}"
    return ok, m, msg


def _against_reference(case: Case, fw: str, result: RunResult, ref: dict[str, np.ndarray]) -> Comparison:
    documented = documented_semantics(fw, case.attrs, case.port)
    predicted = predicted_semantics(fw, case.attrs, case.port)
    tol = _reference_tolerance(case.dtype)
    out = result.outputs["out"]
    ok, m, msg = _close_to_reference(out, ref, documented.key, tol, case.dtype)
    label = f"reference[{documented.key}]"
    if predicted.key == documented.key:
        verdict = Verdict.PASS if ok else Verdict.MISMATCH
        return Comparison(case.id, fw, label, verdict, tol, m, msg)
    names = ", ".join(d.name for d in applicable(case.attrs, case.port) if any(p[0] == fw for p in d.predictions))
    follows_prediction, _, pred_msg = _close_to_reference(out, ref, predicted.key, tol, case.dtype)
    if follows_prediction and not ok:
        msg = f"differs from its documented semantics as declared ({names}): {msg}"
        return Comparison(case.id, fw, label, Verdict.EXPECTED_DIVERGENCE, tol, m, msg, names)
    if follows_prediction and ok:  # prediction and documentation coincide for these inputs
        return Comparison(case.id, fw, label, Verdict.PASS, tol, m, msg, names)
    why = "now follows its documented semantics" if ok else f"matches neither (vs prediction: {pred_msg})"
    msg = f"declared divergence {names} did not hold: {fw} {why}. vs documented: {msg}"
    return Comparison(case.id, fw, label, Verdict.DIVERGENCE_CHANGED, tol, m, msg, names)


def _status_comparison(case: Case, result: RunResult, expected: str) -> Comparison:
    return Comparison(case.id, result.runner, expected, _STATUS_VERDICT[result.status], None, None, result.message)


def judge(case: Case, results: dict[str, RunResult], ref_result: RunResult) -> list[Comparison]:
    """All comparisons for one case.  ``ref`` outputs are keyed by Semantics.key."""
    frameworks = [fw for fw in results if fw != REFERENCE]
    if ref_result.status is not Status.OK:
        # The reference refusing a case (undefined input) is reported once, not blamed on anyone.
        return [_status_comparison(case, ref_result, "(documented semantics)")]
    ref = ref_result.outputs
    own: dict[str, Comparison] = {}
    for fw in frameworks:
        r = results[fw]
        own[fw] = (
            _against_reference(case, fw, r, ref) if r.status is Status.OK else _status_comparison(case, r, REFERENCE)
        )
    comparisons = list(own.values())
    if len(frameworks) == 2:
        comparisons.append(_pair(case, frameworks[0], frameworks[1], results, own, ref))
    return comparisons


def _pair(
    case: Case, a: str, b: str, results: dict[str, RunResult], own: dict[str, Comparison], ref: dict[str, np.ndarray]
) -> Comparison:
    ra, rb = results[a], results[b]
    if ra.status is not Status.OK or rb.status is not Status.OK:
        down = ra if ra.status is not Status.OK else rb
        verdict = Verdict.UNSUPPORTED if down.status is Status.UNSUPPORTED else _STATUS_VERDICT[down.status]
        return Comparison(case.id, b, a, verdict, None, None, f"{down.runner} has no output: {down.message}")
    tol = _pair_tolerance(case.dtype)
    bound = ref[documented_semantics(a, case.attrs, case.port).key + BOUND]
    bound = np.maximum(bound, ref[documented_semantics(b, case.attrs, case.port).key + BOUND])
    ok, m, msg = _close(rb.outputs["out"], ra.outputs["out"], tol, case.dtype, 2 * bound)
    if ok:
        return Comparison(case.id, b, a, Verdict.PASS, tol, m, msg)
    declared = applicable(case.attrs, case.port)
    names = ", ".join(d.name for d in declared) or None
    explained = all(own[f].verdict in (Verdict.PASS, Verdict.EXPECTED_DIVERGENCE) for f in (a, b))
    if declared and explained:
        return Comparison(case.id, b, a, Verdict.EXPECTED_DIVERGENCE, tol, m, f"declared ({names}): {msg}", names)
    blame = [f for f in (a, b) if own[f].verdict not in (Verdict.PASS, Verdict.EXPECTED_DIVERGENCE)]
    who = f"deviating from the reference: {', '.join(blame)}" if blame else "both follow their documented semantics"
    verdict = Verdict.DIVERGENCE_CHANGED if declared else Verdict.MISMATCH
    return Comparison(case.id, b, a, verdict, tol, m, f"{who}. {msg}", names)
