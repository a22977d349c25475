"""Verdicts for one case: each framework against the reference, then framework against framework.

Three-way blame: a framework is judged against the reference evaluated under what it documents
for its own call; the torchvision-vs-MindSpore pair is then explained by those verdicts and by
the declared divergences (parity.divergence), never by a looser tolerance.  A framework that
raises, crashes or hangs is judged on that behaviour: for invalid input (parity.invalid) raising
is the right answer, and returning numbers where the reference finds the input undefined is not.
"""
from __future__ import annotations

import numpy as np

from parity import compare
from parity.divergence import applicable, documented_semantics, predicted_semantics, predictions_for, unspecified
from parity.model import Case, Comparison, Metrics, RunResult, Status, Tolerance, Verdict

_STATUS_VERDICT = {
    Status.ERROR: Verdict.ERROR,
    Status.CRASH: Verdict.CRASH,
    Status.TIMEOUT: Verdict.TIMEOUT,
    Status.UNSUPPORTED: Verdict.UNSUPPORTED,
}
_EXPLAINED = (Verdict.PASS, Verdict.EXPECTED_DIVERGENCE)
REFERENCE = "reference"
#: Suffixes of the reference outputs beside each result: its rounding bound
#: (parity.compare.rounding_bound) and the result with dtype-rounded sampling positions.
BOUND, GEOM, GRAD = "|bound", "|geom", "|grad"


def reference_semantics(case: Case, frameworks: tuple[str, ...]) -> list:
    """Every reference evaluation this case's verdicts need (documented + predicted), deduplicated."""
    wanted = {}
    for fw in frameworks:
        documented = documented_semantics(fw, case.attrs, case.port)
        for sem in (documented, predicted_semantics(fw, case), predicted_semantics(fw, case, backward=True)):
            wanted.setdefault(sem.key, sem)
    return list(wanted.values())


def behaviour(result: RunResult) -> str:
    """The robustness class of a result: raises, crash, hang, or output (finite / with NaN or Inf)."""
    if result.status in (Status.ERROR, Status.UNSUPPORTED):
        return "raises"
    if result.status is Status.CRASH:
        return "crash"
    if result.status is Status.TIMEOUT:
        return "hang"
    out = result.outputs.get("out")
    finite = out is None or out.dtype.kind != "f" or bool(np.isfinite(out).all())
    return "output" if finite else "output with NaN/Inf"


def describe_behaviour(result: RunResult) -> str:
    b = behaviour(result)
    return f"{b}: {result.message}" if result.message else b


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

    ok, m, msg = _close(masked(ref[key]), ref[key], tol, dtype, ref[key + BOUND])
    if not ok and m is not None:
        if _close(masked(ref[key + GEOM]), ref[key + GEOM], tol, dtype, ref[key + BOUND])[0]:
            return True, m, f"within tolerance of the reference with {dtype}-rounded sampling positions. {msg}"
    return ok, m, msg


def _predicted_failure(case: Case, fw: str, result: RunResult) -> str | None:
    """The divergence that predicts this raise / crash / hang / undefined-input output, if any."""
    b = behaviour(result)
    for d, p in predictions_for(fw, case):
        if p.behaviour and b.startswith(p.behaviour) and (p.message is None or p.message in result.message):
            return d.name
    return None


def _own(case: Case, fw: str, result: RunResult, ref_result: RunResult) -> Comparison:
    """One framework against the reference (or, without a defined reference, on behaviour)."""
    declared = _predicted_failure(case, fw, result)
    if result.status is not Status.OK or ref_result.status is Status.UNSUPPORTED:
        what = describe_behaviour(result)
        if declared:
            return Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, None, None, f"{what} (declared: {declared})", declared)
        if result.status is not Status.OK:
            if case.invalid and behaviour(result) == "raises":
                return Comparison(case.id, fw, REFERENCE, Verdict.PASS, None, None, f"rejects invalid input: {result.message}")
            return Comparison(case.id, fw, REFERENCE, _STATUS_VERDICT[result.status], None, None, result.message)
        msg = f"silent {what} for input the reference rejects as undefined ({ref_result.message})"
        return Comparison(case.id, fw, REFERENCE, Verdict.MISMATCH, None, None, msg)
    return _against_reference(case, fw, result.outputs["out"], ref_result.outputs)


def _against_reference(
    case: Case, fw: str, out: np.ndarray, ref: dict[str, np.ndarray], backward: bool = False
) -> Comparison:
    """Forward output (or, with ``backward``, the gradient) against the reference."""
    grad = GRAD if backward else ""
    documented = documented_semantics(fw, case.attrs, case.port)
    predicted = predicted_semantics(fw, case, backward)
    skip = None if backward else unspecified(fw, case)
    tol = _reference_tolerance(case.dtype)
    ok, m, msg = _close_to_reference(out, ref, documented.key + grad, tol, case.dtype)
    label = f"reference{grad}[{documented.key}]"
    actual = fw + (" (grad)" if backward else "")
    if predicted.key == documented.key and skip is None:
        return Comparison(case.id, actual, label, Verdict.PASS if ok else Verdict.MISMATCH, tol, m, msg)
    names = ", ".join(sorted({d.name for d, _ in predictions_for(fw, case, backward)}))
    follows_prediction, _, pred_msg = _close_to_reference(out, ref, predicted.key + grad, tol, case.dtype, skip)
    if follows_prediction and not ok:
        msg = f"differs from its documented semantics as declared ({names}): {msg}"
        return Comparison(case.id, actual, label, Verdict.EXPECTED_DIVERGENCE, tol, m, msg, names)
    if follows_prediction:  # prediction and documentation coincide for these inputs
        return Comparison(case.id, actual, label, Verdict.PASS, tol, m, msg, names)
    why = "now follows its documented semantics" if ok else f"matches neither (vs prediction: {pred_msg})"
    msg = f"declared divergence {names} did not hold: {actual} {why}. vs documented: {msg}"
    return Comparison(case.id, actual, label, Verdict.DIVERGENCE_CHANGED, tol, m, msg, names)


def judge(case: Case, results: dict[str, RunResult], ref_result: RunResult) -> list[Comparison]:
    """All comparisons for one case.  Reference outputs are keyed by Semantics.key.

    The reference either computes (OK) or rejects undefined input (UNSUPPORTED); any other
    outcome is a failure of parity itself, reported as such and never blamed on a framework.
    """
    frameworks = [fw for fw in results if fw != REFERENCE]
    if ref_result.status not in (Status.OK, Status.UNSUPPORTED):
        msg = f"parity's reference failed on this case ({describe_behaviour(ref_result)}); this is a bug in parity"
        return [Comparison(case.id, REFERENCE, "(documented semantics)", Verdict.ERROR, None, None, msg)]
    own = {fw: _own(case, fw, results[fw], ref_result) for fw in frameworks}
    comparisons = list(own.values())
    source = frameworks[0]  # the framework being migrated from (torchvision when it runs)
    for target in frameworks[1:]:
        comparisons.append(_pair(case, source, target, results, own, ref_result))
    return comparisons + _gradients(case, frameworks, results, ref_result)


def _gradients(case: Case, frameworks: list[str], results: dict[str, RunResult], ref_result: RunResult) -> list[Comparison]:
    """Backward parity: each framework's gradient against the reference's exact vector-Jacobian
    product, then against the source framework's gradient."""
    if ref_result.status is not Status.OK:
        return []
    ref = ref_result.outputs
    with_grad = [fw for fw in frameworks if "grad" in results[fw].outputs]
    own = {fw: _against_reference(case, fw, results[fw].outputs["grad"], ref, backward=True) for fw in with_grad}
    comparisons = list(own.values())
    if len(with_grad) < 2:
        return comparisons
    source = with_grad[0]
    for target in with_grad[1:]:
        pair = (source, target)
        bound = 2 * np.maximum(*(ref[documented_semantics(f, case.attrs, case.port).key + GRAD + BOUND] for f in pair))
        outputs = (results[source].outputs["grad"], results[target].outputs["grad"])
        comparisons.append(_numeric_pair(case, pair, outputs, own, bound, backward=True))
    return comparisons


def _pair(
    case: Case, a: str, b: str, results: dict[str, RunResult], own: dict[str, Comparison], ref_result: RunResult
) -> Comparison:
    ra, rb = results[a], results[b]
    if Status.UNSUPPORTED in (ra.status, rb.status):
        down = ra if ra.status is Status.UNSUPPORTED else rb
        return Comparison(case.id, b, a, Verdict.UNSUPPORTED, None, None, f"{down.runner} has no output: {down.message}")
    if ra.status is not Status.OK or rb.status is not Status.OK:
        ba, bb = behaviour(ra), behaviour(rb)
        msg = f"{a}: {describe_behaviour(ra)}; {b}: {describe_behaviour(rb)}"
        if ba == bb == "raises":
            return Comparison(case.id, b, a, Verdict.PASS, None, None, f"both raise. {msg}")
        if all(own[f].verdict in _EXPLAINED for f in (a, b)) and any(own[f].divergence for f in (a, b)):
            names = ", ".join(own[f].divergence for f in (a, b) if own[f].divergence)
            return Comparison(case.id, b, a, Verdict.EXPECTED_DIVERGENCE, None, None, f"declared ({names}): {msg}", names)
        down = ra if ra.status is not Status.OK else rb
        verdict = Verdict.MISMATCH if case.invalid and down.status is Status.ERROR else _STATUS_VERDICT[down.status]
        return Comparison(case.id, b, a, verdict, None, None, msg)
    bound: np.ndarray | float = 0.0
    if ref_result.status is Status.OK:  # otherwise the input is undefined: no rounding bound
        bound = 2 * np.maximum(*(ref_result.outputs[documented_semantics(f, case.attrs, case.port).key + BOUND] for f in (a, b)))
    return _numeric_pair(case, (a, b), (ra.outputs["out"], rb.outputs["out"]), own, bound)


def _numeric_pair(
    case: Case,
    frameworks: tuple[str, str],
    outputs: tuple[np.ndarray, np.ndarray],
    own: dict[str, Comparison],
    bound: np.ndarray | float,
    backward: bool = False,
) -> Comparison:
    """Target vs source output (or gradient); a difference is explained only by a declared
    divergence that concerns both and whose predictions held (own verdicts PASS or EXPECTED)."""
    tol = _pair_tolerance(case.dtype)
    ok, m, msg = _close(outputs[1], outputs[0], tol, case.dtype, bound)
    a, b = (f + (" (grad)" if backward else "") for f in frameworks)
    if ok:
        return Comparison(case.id, b, a, Verdict.PASS, tol, m, msg)
    names = ", ".join(d.name for d in applicable(case) if d.concerns(frameworks, backward)) or None
    if names and all(own[f].verdict in _EXPLAINED for f in frameworks):
        return Comparison(case.id, b, a, Verdict.EXPECTED_DIVERGENCE, tol, m, f"declared ({names}): {msg}", names)
    blame = [f for f in frameworks if own[f].verdict not in _EXPLAINED]
    who = f"deviating from the reference: {', '.join(blame)}" if blame else "both follow their documented semantics"
    verdict = Verdict.DIVERGENCE_CHANGED if names else Verdict.MISMATCH
    return Comparison(case.id, b, a, verdict, tol, m, f"{who}. {msg}", names)
