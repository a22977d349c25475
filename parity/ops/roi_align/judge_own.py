"""Own verdicts: one framework against the reference, evaluated under what that framework documents
for its call, or under what a declared divergence predicts it computes instead.

Also what the rest of the judge reads off the reference: the suffixes of its outputs beside each
result, the tolerance against it, and the rule that a PASS stands only where the dtype can decide.
A framework that raises, crashes or hangs is judged on that behaviour: for invalid input
(parity.ops.roi_align.invalid) raising is the right answer, and returning numbers where the
reference finds the input undefined is not.  The first of the judge's three steps
(parity.ops.roi_align.judge); the pair (parity.ops.roi_align.judge_pair) is explained by these verdicts.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from parity.engine import compare
from parity.engine.behaviour import behaviour, describe_behaviour, failure_verdict
from parity.engine.model import Case, Comparison, Metrics, RunResult, Status, Tolerance, Undecided, Verdict
from parity.engine.op import REFERENCE
from parity.ops.roi_align.divergence import documented_semantics, predicted_semantics, predictions_for, unspecified

#: Suffixes of the reference outputs beside each result: its rounding bound
#: (parity.ops.roi_align.bounds.rounding_bound), the scale that bound is judged against, the result with
#: dtype-rounded sampling positions, and (instead of all these) why the input is undefined
#: under that semantics (parity.ops.roi_align.runners.reference).
BOUND, SCALE, GEOM, GRAD, INVALID = "|bound", "|scale", "|geom", "|grad", "|invalid"


def reference_tolerance(dtype: str) -> Tolerance:
    """The dtype's default tolerance against the reference; each element's derived rounding bound is added to it."""
    base = compare.tolerance_for(dtype)
    reason = f"{base.reason}, plus the derived {dtype} rounding bound of each element (parity.ops.roi_align.bounds.rounding_bound)"
    return Tolerance(base.rtol, base.atol, reason)


def close(
    actual: np.ndarray, expected: np.ndarray, tol: Tolerance, dtype: str, bound: np.ndarray | float
) -> tuple[bool, Metrics | None, str]:
    """Whether ``actual`` is within ``tol`` plus ``bound`` of ``expected`` everywhere, with the metrics
    and their description (None and the shape problem where the shapes differ)."""
    problem = compare.shape_problem(actual, expected)
    if problem:
        return False, None, problem
    m = compare.metrics(actual, expected, tol, dtype, bound)
    return m.mismatched == 0, m, compare.describe(m, tol)


def _close_to_reference(
    actual: np.ndarray, ref: dict[str, np.ndarray], key: str, tol: Tolerance, dtype: str, skip: np.ndarray | None = None
) -> tuple[bool, Metrics | None, str]:
    """Within tolerance of the exact reference, or of the reference whose sampling positions were
    rounded to ``dtype`` (a sample that rounding moves across the image border or a grid step
    legitimately changes a bin).  Elements in ``skip`` are not compared.  Metrics are against the
    exact reference."""

    def masked(expected: np.ndarray) -> np.ndarray:
        if skip is None or compare.shape_problem(actual, expected):
            return actual
        a = np.array(actual, dtype=np.float64)
        a[skip] = expected[skip]
        return a

    ok, m, msg = close(masked(ref[key]), ref[key], tol, dtype, ref[key + BOUND])
    if not ok and m is not None:
        if close(masked(ref[key + GEOM]), ref[key + GEOM], tol, dtype, ref[key + BOUND])[0]:
            return True, m, f"within tolerance of the reference with {dtype}-rounded sampling positions. {msg}"
    return ok, m, msg


def _predicted_failure(case: Case, fw: str, result: RunResult) -> str | None:
    """The divergence that predicts this raise / crash / hang / undefined-input output, if any."""
    b = behaviour(result)
    for d, p in predictions_for(fw, case):
        if p.behaviour and b.startswith(p.behaviour) and (p.message is None or p.message in result.message):
            return d.name
    return None


def own_verdict(case: Case, fw: str, result: RunResult, ref_result: RunResult) -> Comparison:
    """One framework against the reference (or, without a defined reference, on behaviour)."""
    declared = _predicted_failure(case, fw, result)
    undefined = _undefined(ref_result, documented_semantics(fw, case.attrs, case.port).key)
    if result.status is not Status.OK or undefined is not None:
        what = describe_behaviour(result)
        if declared:
            return Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, None, None, f"{what} (declared: {declared})", declared)
        if result.status is not Status.OK:
            if case.invalid and behaviour(result) == "raises":
                return Comparison(case.id, fw, REFERENCE, Verdict.PASS, None, None, f"rejects invalid input: {result.message}")
            return Comparison(case.id, fw, REFERENCE, failure_verdict(result.status), None, None, result.message)
        left_open = unspecified(fw, case)
        if left_open is not None and left_open.all():  # its predictions say it computes none of the output
            problem = compare.shape_problem(result.outputs["out"], np.empty(left_open.shape))
            names = ", ".join(sorted({d.name for d, p in predictions_for(fw, case, False) if p.unspecified}))
            if problem is None:
                msg = f"computes none of the output, as declared ({names}): nothing to compare (the documented semantics: {undefined})"
                return Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, None, None, msg, names)
        msg = f"silent {what} for input {fw}'s documented semantics leave undefined ({undefined})"
        return Comparison(case.id, fw, REFERENCE, Verdict.MISMATCH, None, None, msg)
    return _against_reference(case, fw, result.outputs["out"], ref_result.outputs)


def _undefined(ref_result: RunResult, key: str) -> str | None:
    """Why the reference has no result under semantics ``key`` (None: it has one)."""
    if ref_result.status is Status.UNSUPPORTED:
        return ref_result.message
    if key in ref_result.outputs:
        return None
    reason = ref_result.outputs.get(key + INVALID)
    return str(reason) if reason is not None else f"the reference was not asked for {key}"


def attribute_problem(actual: np.ndarray, expected: np.ndarray, dtype: str) -> str | None:
    """Attributes before values (as torch.testing does): the shape, then the dtype, each with its
    own message.  A framework returning float64 (or integers) for ``dtype`` inputs is wrong however
    close its numbers are; integer inputs have no documented result dtype and are not checked."""
    problem = compare.shape_problem(actual, expected)
    if problem:
        return problem
    if np.dtype(dtype).kind == "f" and actual.dtype != np.dtype(dtype):
        return f"dtype {actual.dtype} where {dtype} was expected (the dtype of the inputs)"
    return None


def _against_reference(
    case: Case, fw: str, out: np.ndarray, ref: dict[str, np.ndarray], backward: bool = False
) -> Comparison:
    """Forward output (or, with ``backward``, the gradient) against the reference."""
    grad = GRAD if backward else ""
    documented = documented_semantics(fw, case.attrs, case.port)
    predicted = predicted_semantics(fw, case, backward)
    skip = None if backward else unspecified(fw, case)
    tol = reference_tolerance(case.dtype)
    label = f"reference{grad}[{documented.key}]"
    actual = fw + (" (grad)" if backward else "")
    key = documented.key + grad
    problem = attribute_problem(out, ref[key], case.dtype)
    if problem:
        return Comparison(case.id, actual, label, Verdict.MISMATCH, tol, None, problem)
    ok, m, msg = _close_to_reference(out, ref, key, tol, case.dtype)
    if predicted.key == documented.key and skip is None:
        return _decided(Comparison(case.id, actual, label, Verdict.PASS if ok else Verdict.MISMATCH, tol, m, msg), out, ref, key)
    names = ", ".join(sorted({d.name for d, _ in predictions_for(fw, case, backward)}))
    if predicted.key + grad not in ref:  # the prediction finds the input undefined; the framework returned numbers
        follows_prediction, pred_msg = False, f"the declared semantics leave this input undefined ({_undefined_message(ref, predicted.key)})"
    else:
        follows_prediction, _, pred_msg = _close_to_reference(out, ref, predicted.key + grad, tol, case.dtype, skip)
    if follows_prediction and not ok:
        msg = f"differs from its documented semantics as declared ({names}): {msg}"
        return Comparison(case.id, actual, label, Verdict.EXPECTED_DIVERGENCE, tol, m, msg, names)
    if follows_prediction and _excludes(ref, key, predicted.key + grad, tol, case.dtype, skip):
        # the allowance against the documentation is too wide to see it, but the prediction is tight
        # enough to exclude the documented result: the framework demonstrably computes something else
        msg = f"follows the declared prediction ({names}), whose bounds exclude the documented result: {msg}"
        return Comparison(case.id, actual, label, Verdict.EXPECTED_DIVERGENCE, tol, m, msg, names)
    if follows_prediction:  # prediction and documentation coincide for these inputs
        comparison = Comparison(case.id, actual, label, Verdict.PASS, tol, m, msg, names)
        return _decided(comparison, out, ref, key, ref[predicted.key + grad])
    why = "now follows its documented semantics" if ok else f"matches neither (vs prediction: {pred_msg})"
    msg = f"declared divergence {names} did not hold: {actual} {why}. vs documented: {msg}"
    return Comparison(case.id, actual, label, Verdict.DIVERGENCE_CHANGED, tol, m, msg, names)


def _excludes(
    ref: dict[str, np.ndarray], documented: str, predicted: str, tol: Tolerance, dtype: str, skip: np.ndarray | None
) -> bool:
    """Whether the documented result falls outside the prediction's own allowance (on the
    elements the prediction covers)."""
    doc = np.array(ref[documented], dtype=np.float64)
    if skip is not None:
        doc[skip] = ref[predicted][skip]
    return not close(doc, ref[predicted], tol, dtype, ref[predicted + BOUND])[0]


def _undefined_message(ref: dict[str, np.ndarray], key: str) -> str:
    reason = ref.get(key + INVALID)
    return str(reason) if reason is not None else "no result"


def _decided(
    c: Comparison, actual: np.ndarray, ref: dict[str, np.ndarray], key: str, alternative: np.ndarray | None = None
) -> Comparison:
    """A PASS stands only where the allowance is small against what is judged; otherwise the
    verdict is UNDECIDABLE, with the allowance and the judged quantity side by side."""
    if c.verdict is not Verdict.PASS or c.tolerance is None:
        return c
    u = compare.undecided(c.tolerance, ref[key + BOUND], ref[key + SCALE], ref[key], actual, alternative)
    return undecidable(c, u)


def undecidable(c: Comparison, u: Undecided | None) -> Comparison:
    """``c`` made UNDECIDABLE with the evidence ``u`` in front of its message (unchanged when ``u`` is None)."""
    if u is None:
        return c
    return dataclasses.replace(c, verdict=Verdict.UNDECIDABLE, message=f"{u.describe()}. {c.message}", undecided=u)


def gradient_against_reference(
    case: Case, fw: str, grad: np.ndarray, forward: Comparison, ref: dict[str, np.ndarray]
) -> Comparison:
    """A gradient against the reference's; where the documented semantics leave the input
    undefined there is no gradient to compare with, and the gradient takes the verdict of the
    forward output that was judged on behaviour (a declared divergence stays declared, a silent
    output stays a MISMATCH): never a PASS for numbers nothing defines."""
    key = documented_semantics(fw, case.attrs, case.port).key
    if key + GRAD in ref:
        return _against_reference(case, fw, grad, ref, backward=True)
    why = f"{fw}'s documented semantics leave this input undefined ({_undefined_message(ref, key)})"
    predicted = predicted_semantics(fw, case, backward=True).key + GRAD
    label, actual = f"reference{GRAD}[{key}]", f"{fw} (grad)"
    if predicted not in ref:  # nothing to compare with: the forward verdict, judged on behaviour, stands
        msg = f"{why}; judged with the forward output: {forward.message}"
        return Comparison(case.id, actual, label, forward.verdict, None, None, msg, forward.divergence)
    names = ", ".join(sorted({d.name for d, _ in predictions_for(fw, case, True)}))
    tol = reference_tolerance(case.dtype)
    problem = attribute_problem(grad, ref[predicted], case.dtype)
    follows, m, msg = (False, None, problem) if problem else _close_to_reference(grad, ref, predicted, tol, case.dtype)
    if follows:
        return Comparison(case.id, actual, label, Verdict.EXPECTED_DIVERGENCE, tol, m, f"{why}; follows the declared prediction ({names}): {msg}", names)
    return Comparison(case.id, actual, label, Verdict.DIVERGENCE_CHANGED, tol, m, f"{why}; declared prediction {names} did not hold: {msg}", names)

