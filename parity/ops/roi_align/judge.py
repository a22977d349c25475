"""Verdicts for one case: each framework against the reference, then framework against framework.

Three-way blame: a framework is judged against the reference evaluated under what it documents
for its own call; the torchvision-vs-MindSpore pair is then explained by those verdicts and by
the declared divergences (parity.ops.roi_align.divergence), never by a looser tolerance.  A framework that
raises, crashes or hangs is judged on that behaviour: for invalid input (parity.ops.roi_align.invalid) raising
is the right answer, and returning numbers where the reference finds the input undefined is not.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from parity.engine import compare
from parity.engine.op import REFERENCE
from parity.ops.roi_align.divergence import (
    UNSPECIFIED,
    applicable,
    documented_semantics,
    predicted_semantics,
    predictions_for,
    unspecified,
)
from parity.engine.behaviour import behaviour, describe_behaviour, failure_verdict
from parity.engine.model import NOT_BLAMED, Case, Comparison, Metrics, RunResult, Status, Tolerance, Undecided, Verdict

#: Suffixes of the reference outputs beside each result: its rounding bound
#: (parity.ops.roi_align.bounds.rounding_bound), the scale that bound is judged against, the result with
#: dtype-rounded sampling positions, and (instead of all these) why the input is undefined
#: under that semantics (parity.ops.roi_align.runners.reference).
BOUND, SCALE, GEOM, GRAD, INVALID = "|bound", "|scale", "|geom", "|grad", "|invalid"


def reference_semantics(case: Case, frameworks: tuple[str, ...]) -> list:
    """Every reference evaluation this case's verdicts need (documented + predicted), deduplicated."""
    wanted = {}
    for fw in frameworks:
        documented = documented_semantics(fw, case.attrs, case.port)
        for sem in (documented, predicted_semantics(fw, case), predicted_semantics(fw, case, backward=True)):
            wanted.setdefault(sem.key, sem)
    return list(wanted.values())


def _reference_tolerance(dtype: str) -> Tolerance:
    base = compare.tolerance_for(dtype)
    reason = f"{base.reason}, plus the derived {dtype} rounding bound of each element (parity.ops.roi_align.bounds.rounding_bound)"
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
    tol = _reference_tolerance(case.dtype)
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
    return not _close(doc, ref[predicted], tol, dtype, ref[predicted + BOUND])[0]


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
    return _undecidable(c, u)


def _undecidable(c: Comparison, u: Undecided | None) -> Comparison:
    if u is None:
        return c
    return dataclasses.replace(c, verdict=Verdict.UNDECIDABLE, message=f"{u.describe()}. {c.message}", undecided=u)


def judge(case: Case, results: dict[str, RunResult], ref_result: RunResult) -> list[Comparison]:
    """All comparisons for one case.  Reference outputs are keyed by Semantics.key.

    The reference either computes (OK) or rejects undefined input (UNSUPPORTED); any other
    outcome is a failure of parity itself, reported as such (the one comparison whose actual is
    the reference) and never blamed on a framework.  It hides no framework's verdict either: what
    a framework did on its own (raise, crash, hang) needs no reference and is still judged.
    """
    frameworks = [fw for fw in results if fw != REFERENCE]
    if ref_result.status not in (Status.OK, Status.UNSUPPORTED):
        msg = f"parity's reference failed on this case ({describe_behaviour(ref_result)}); this is parity's failure, not a framework's"
        failed = Comparison(case.id, REFERENCE, "(documented semantics)", Verdict.ERROR, None, None, msg)
        return [failed] + [_own(case, fw, results[fw], ref_result) for fw in frameworks if results[fw].status is not Status.OK]
    own = {fw: _own(case, fw, results[fw], ref_result) for fw in frameworks}
    comparisons = list(own.values())
    source = frameworks[0]  # the framework being migrated from (torchvision when it runs)
    for target in frameworks[1:]:
        comparisons.append(_pair(case, source, target, results, own, ref_result))
    return [in_scope(case, c, results, ref_result) for c in comparisons + _gradients(case, frameworks, results, ref_result, own)]


def _gradients(
    case: Case, frameworks: list[str], results: dict[str, RunResult], ref_result: RunResult, forward: dict[str, Comparison]
) -> list[Comparison]:
    """Backward parity: each framework's gradient against the reference's exact vector-Jacobian
    product, then against the source framework's gradient."""
    if ref_result.status is not Status.OK:
        return []
    ref = ref_result.outputs
    with_grad = [fw for fw in frameworks if "grad" in results[fw].outputs]
    own = {fw: _gradient_against_reference(case, fw, results[fw].outputs["grad"], forward[fw], ref) for fw in with_grad}
    comparisons = list(own.values())
    if len(with_grad) < 2:
        return comparisons
    source = with_grad[0]
    for target in with_grad[1:]:
        pair = (source, target)
        keys = tuple(documented_semantics(f, case.attrs, case.port).key + GRAD for f in pair)
        if any(k not in ref for k in keys):
            continue  # one side's gradient is undefined: its own comparison says so
        outputs = (results[source].outputs["grad"], results[target].outputs["grad"])
        comparisons.append(_numeric_pair(case, pair, outputs, own, _pair_evidence(ref, keys), backward=True))
    return comparisons


def _gradient_against_reference(
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
    tol = _reference_tolerance(case.dtype)
    problem = attribute_problem(grad, ref[predicted], case.dtype)
    follows, m, msg = (False, None, problem) if problem else _close_to_reference(grad, ref, predicted, tol, case.dtype)
    if follows:
        return Comparison(case.id, actual, label, Verdict.EXPECTED_DIVERGENCE, tol, m, f"{why}; follows the declared prediction ({names}): {msg}", names)
    return Comparison(case.id, actual, label, Verdict.DIVERGENCE_CHANGED, tol, m, f"{why}; declared prediction {names} did not hold: {msg}", names)


def _pair_evidence(ref: dict[str, np.ndarray], keys: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For a pair whose documented semantics are ``keys``: the pair's bound (twice the larger of
    the two), the scale, and each side's exact result (their difference is what the pair must see)."""
    bound = 2 * np.maximum(*(ref[k + BOUND] for k in keys))
    scale = np.maximum(*(ref[k + SCALE] for k in keys))
    return bound, scale, ref[keys[0]], ref[keys[1]]


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
        if all(own[f].verdict in NOT_BLAMED for f in (a, b)) and any(own[f].divergence for f in (a, b)):
            names = ", ".join(own[f].divergence for f in (a, b) if own[f].divergence)
            return Comparison(case.id, b, a, Verdict.EXPECTED_DIVERGENCE, None, None, f"declared ({names}): {msg}", names)
        down = ra if ra.status is not Status.OK else rb
        verdict = Verdict.MISMATCH if case.invalid and down.status is Status.ERROR else failure_verdict(down.status)
        return Comparison(case.id, b, a, verdict, None, None, msg)
    keys = tuple(documented_semantics(f, case.attrs, case.port).key for f in (a, b))
    evidence = None  # the input is undefined for one side: no rounding bound, nothing to decide
    if ref_result.status is Status.OK and all(k in ref_result.outputs for k in keys):
        evidence = _pair_evidence(ref_result.outputs, keys)
    return _numeric_pair(case, (a, b), (ra.outputs["out"], rb.outputs["out"]), own, evidence)


def _numeric_pair(
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
    ok, m, msg = _close(outputs[1], outputs[0], tol, case.dtype, bound)
    if ok:
        c = Comparison(case.id, b, a, Verdict.PASS, tol, m, msg)
        if evidence is None:
            return c
        _, scale, exact_a, exact_b = evidence
        return _undecidable(c, compare.undecided(tol, bound, scale, exact_b, outputs[1], exact_a))
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


def in_scope(case: Case, c: Comparison, results: dict[str, RunResult], ref_result: RunResult) -> Comparison:
    """An EXPECTED_DIVERGENCE with, per divergence it names, the largest |difference| over the elements
    that divergence covers (``Comparison.explained``), and what came back where a prediction leaves
    elements unspecified (appended to the message).  Verdicts are not touched.

    A divergence covers the elements where it predicts a visible difference: where a framework's
    predicted semantics (its variants) differ from its documented ones by more than the tolerance,
    the elements its predictions leave unspecified, and, for a difference the documentation states
    (no prediction: two documented semantics), where the two frameworks' predictions differ.
    Elements another prediction leaves unspecified are covered only by that one, so garbage there
    does not count as, say, a different roi window."""
    if c.verdict is not Verdict.EXPECTED_DIVERGENCE or not c.divergence or c.metrics is None or ref_result.status is not Status.OK:
        return c
    backward = c.actual.endswith(" (grad)")
    grad, output = (GRAD, "grad") if backward else ("", "out")
    fw = c.actual.removesuffix(" (grad)")
    ref = ref_result.outputs
    own = c.expected.startswith(REFERENCE)
    frameworks = (fw,) if own else (c.expected.removesuffix(" (grad)"), fw)
    if any(output not in results[f].outputs for f in frameworks):
        return c
    actual = np.asarray(results[fw].outputs[output], np.float64)
    documented = {f: documented_semantics(f, case.attrs, case.port) for f in frameworks}
    keys = [k + grad for f in frameworks for k in (documented[f].key, predicted_semantics(f, case, backward).key)]
    if any(k not in ref or k + BOUND not in ref for k in keys):
        return c  # a reference evaluation this case did not need
    predicted = {f: ref[predicted_semantics(f, case, backward).key + grad] for f in frameworks}
    expected = ref[documented[fw].key + grad] if own else np.asarray(results[frameworks[0]].outputs[output], np.float64)
    if actual.shape != expected.shape:
        return c
    bound = np.maximum.reduce([ref[documented[f].key + grad + BOUND] for f in frameworks]) * (1 if own else 2)
    tol = c.tolerance or _reference_tolerance(case.dtype)

    def visible(x: np.ndarray, y: np.ndarray, allowance: np.ndarray | float = bound) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            same = (np.isnan(x) & np.isnan(y)) | (x == y) | (np.abs(x - y) <= tol.atol + tol.rtol * np.abs(y) + allowance)
        return ~same

    def rule(name: str, f: str) -> np.ndarray:
        return np.broadcast_to(UNSPECIFIED[name](case, documented[f]), actual.shape)

    names = [n for n in c.divergence.split(", ") if n]
    # (divergence, UNSPECIFIED rule, framework): forward elements a prediction does not cover
    left_open = [] if backward else [
        (d.name, p.unspecified, f) for f in frameworks for d, p in predictions_for(f, case, False) if p.unspecified
    ]
    garbage = np.zeros(actual.shape, bool)
    for _, name, f in left_open:
        garbage |= rule(name, f)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(np.isfinite(actual) & np.isfinite(expected), np.abs(actual - expected), 0.0)
    explained, notes = [], []
    for n in names:
        preds = [(f, p) for f in frameworks for d, p in predictions_for(f, case, backward) if d.name == n]
        covered = np.zeros(actual.shape, bool)
        for f, p in preds:
            if p.variant:  # where the prediction, within its own allowance, is not the documented result
                own_bound = ref[predicted_semantics(f, case, backward).key + grad + BOUND]
                covered |= visible(predicted[f], ref[documented[f].key + grad], own_bound) & ~garbage
        if not any(p.variant or p.unspecified for _, p in preds) and not own:
            covered |= visible(predicted[frameworks[1]], predicted[frameworks[0]]) & ~garbage
        for _, name, f in [x for x in left_open if x[0] == n]:
            mask = rule(name, f)
            covered |= mask
            notes.append(_unspecified_note(n, f, np.asarray(results[f].outputs[output], np.float64), mask,
                                           ref[documented[f].key + grad]))
        explained.append((n, min(float(diff[covered].max(initial=0.0)), np.finfo(np.float64).max)))
    message = c.message + "".join(f" {note}" for note in dict.fromkeys(notes) if note)
    return dataclasses.replace(c, explained=tuple(explained), message=message)


def _unspecified_note(divergence: str, fw: str, out: np.ndarray, mask: np.ndarray, reference: np.ndarray) -> str:
    """What ``fw`` returned where ``divergence`` leaves its output unspecified: evidence, not an adjective."""
    rois = np.flatnonzero(mask.any(axis=tuple(range(1, mask.ndim))))
    where = f"rois {rois[:8].tolist()}{'...' if len(rois) > 8 else ''}" if mask[rois].all() else f"{int(mask.sum())} elements"
    got, want = out[mask], reference[mask]
    if not got.size:
        return ""
    if not got.any():
        what = "all zeros"
    elif np.isnan(got).all():
        what = "all NaN"
    else:
        finite = got[np.isfinite(got)]
        span = f"values from {finite.min():.4g} to {finite.max():.4g}" if finite.size else "no finite values"
        nonfinite = got.size - finite.size
        what = span + (f" and {nonfinite} NaN/Inf" if nonfinite else "")
        if np.array_equal(got, want, equal_nan=True):
            what += " (equal to the reference)"
    finite_ref = want[np.isfinite(want)]
    ref_span = f"{finite_ref.min():.4g} to {finite_ref.max():.4g}" if finite_ref.size else "no finite values"
    return f"{_note_tag(divergence)}{fw} {where}: returned {what}; the documented semantics give {ref_span}."


def _note_tag(divergence: str) -> str:
    return f"[{divergence}] "


def held_notes(c: Comparison, divergence: str) -> list[str]:
    """The notes :func:`in_scope` appended to ``c``'s message about what came back where ``divergence``
    leaves the output unspecified (each: "FW rois [..]: returned ...; the documented semantics give ...")."""
    pieces = c.message.split(" " + _note_tag(divergence))[1:]
    return [piece.split(". [")[0].removesuffix(".") + "." for piece in pieces]
