"""Verdicts for one nms case: kept indices compared exactly (the boxes and their order), each
framework against the reference under its documented semantics (or a declared prediction), then
each framework against torchvision.

A framework departing from its documented semantics is EXPECTED_DIVERGENCE only when a declared
prediction gives exactly its kept list, DIVERGENCE_CHANGED when a prediction applies but neither
holds, MISMATCH otherwise.  A difference where some decision's IoU lies within the dtype's
rounding of the threshold is UNDECIDABLE (the dtype may decide either way), never a mismatch.
"""
from __future__ import annotations

import numpy as np

from parity.engine import pairs
from parity.engine.behaviour import behaviour, describe_behaviour
from parity.engine.model import Case, Comparison, RunResult, Status, Tolerance, Undecided, Verdict
from parity.engine.op import REFERENCE
from parity.ops.nms import divergences, semantics
from parity.ops.nms.explain import differences
from parity.ops.nms.reference_runner import UNDEFINED_FOR_TORCHVISION

SOURCE = "torchvision"
_STATUS = {Status.ERROR: Verdict.ERROR, Status.CRASH: Verdict.CRASH, Status.TIMEOUT: Verdict.TIMEOUT, Status.UNSUPPORTED: Verdict.UNSUPPORTED}
_EXPLAINED = (Verdict.PASS, Verdict.EXPECTED_DIVERGENCE)
EXACT = Tolerance(0.0, 0.0, "exact: the kept indices and their order")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.astype(np.int64), b.astype(np.int64)))


def changed(a: np.ndarray, b: np.ndarray) -> int:
    """How many boxes two kept lists disagree on: kept by one only, or at another position
    (the size of what a divergence explains)."""
    x, y = [int(v) for v in a], [int(v) for v in b]
    return len(set(x) ^ set(y)) + sum(1 for p, v in enumerate(x) if v in set(y) and (p >= len(y) or y[p] != v))


def _undecided(case: Case, near: np.ndarray) -> Undecided | None:
    if not len(near):
        return None
    k = int(np.argmax(near[:, 3] / np.maximum(np.abs(near[:, 2] - case.attrs.iou_threshold), 1e-300)))
    i, j, iou, bound = near[k]
    boxes = len(set(near[:, 1].astype(int).tolist()))  # the boxes whose fate such a decision settles
    return Undecided(boxes, len(case.scores), (int(i), int(j)), float(bound), float(abs(iou - case.attrs.iou_threshold)), "distance from the threshold", 0.0)


def _documented_error(case: Case, fw: str, result: RunResult, ref: dict[str, np.ndarray]) -> Comparison | None:
    """Where ``fw`` documents an error: raising is PASS, the declared result EXPECTED_DIVERGENCE."""
    d = next((d for d in divergences.applicable(case, fw) if d.documented_raises), None)
    if d is None:
        return None
    if result.status is Status.ERROR:
        return Comparison(case.id, fw, REFERENCE, Verdict.PASS, None, None, f"raises as documented: {describe_behaviour(result)}")
    want = ref[f"{semantics.documented(fw, case).key}.keep"]
    if result.status is Status.OK and _same(result.outputs["keep"], want):
        return Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, EXACT, None, f"returns {want.tolist()} where its documentation says it raises ({d.name})", d.name)
    return Comparison(case.id, fw, REFERENCE, Verdict.DIVERGENCE_CHANGED, None, None, f"neither raises as documented nor returns {want.tolist()} as {d.name} predicts: {describe_behaviour(result)}", d.name)


def _own(case: Case, fw: str, result: RunResult, ref: dict[str, np.ndarray]) -> Comparison:
    documented_error = _documented_error(case, fw, result, ref)
    if documented_error is not None:
        return documented_error
    if result.status is not Status.OK:
        return Comparison(case.id, fw, REFERENCE, _STATUS[result.status], None, None, describe_behaviour(result))
    out = result.outputs["keep"]
    key = semantics.documented(fw, case).key
    want = ref[f"{key}.keep"]
    near = ref[f"{key}.near"]
    if _same(out, want):
        note = f"; {len(near)} decisions within rounding of the threshold, decided as the exact IoU does" if len(near) else ""
        return Comparison(case.id, fw, REFERENCE, Verdict.PASS, EXACT, None, f"the same {len(want)} kept boxes in the same order{note}")
    predictions = semantics.predicted(fw, case)
    for name, sem in predictions:
        if _same(out, ref[f"{sem.key}.keep"]):
            why = differences(case, out, want, ref, key, fw)
            size = tuple((n, float(changed(out, want))) for n in name.split(", "))
            return Comparison(case.id, fw, REFERENCE, Verdict.EXPECTED_DIVERGENCE, EXACT, None, f"follows the declared prediction of {name}: {why}", name, explained=size)
    why = differences(case, out, want, ref, key, fw)
    undecided = _undecided(case, near)
    if undecided is not None:
        return Comparison(case.id, fw, REFERENCE, Verdict.UNDECIDABLE, EXACT, None, f"{undecided.describe()}. {why}", None, undecided)
    if predictions:
        names = predictions[-1][0]
        return Comparison(case.id, fw, REFERENCE, Verdict.DIVERGENCE_CHANGED, EXACT, None, f"matches neither its documented semantics nor the prediction of {names}: {why}", names)
    return Comparison(case.id, fw, REFERENCE, Verdict.MISMATCH, EXACT, None, why)


def _pair(case: Case, fw: str, results: dict[str, RunResult], own: dict[str, Comparison], ref: dict[str, np.ndarray]) -> Comparison:
    a, b = results[fw], results[SOURCE]
    names = tuple(dict.fromkeys(n for c in own.values() if c.divergence for n in c.divergence.split(", ")))
    if a.status is not Status.OK or b.status is not Status.OK:
        if names and all(c.verdict in _EXPLAINED for c in own.values()):
            return Comparison(case.id, fw, SOURCE, Verdict.EXPECTED_DIVERGENCE, None, None, f"explained by {', '.join(names)}", ", ".join(names))
        worst = a if a.status is not Status.OK else b
        verdict = Verdict.UNSUPPORTED if worst.status is Status.UNSUPPORTED else _STATUS[worst.status]
        return Comparison(case.id, fw, SOURCE, verdict, None, None, f"{worst.runner}: {describe_behaviour(worst)}")
    out, want = a.outputs["keep"], b.outputs["keep"]
    if _same(out, want):
        return Comparison(case.id, fw, SOURCE, Verdict.PASS, EXACT, None, f"the same {len(want)} kept boxes in the same order")
    key = semantics.documented(SOURCE, case).key
    why = differences(case, out, want, ref, key, fw).replace("the reference", SOURCE)
    if not names and all(c.verdict is Verdict.PASS for c in own.values()):  # each as documented: the documentations differ
        names = tuple(d.name for d in divergences.applicable(case, fw) if d.documented)
    if names and all(c.verdict in _EXPLAINED for c in own.values()):
        size = tuple((n, float(changed(out, want))) for n in names)
        return Comparison(case.id, fw, SOURCE, Verdict.EXPECTED_DIVERGENCE, EXACT, None, f"explained by {', '.join(names)}: {why}", ", ".join(names), explained=size)
    undecided = next((c for c in own.values() if c.verdict is Verdict.UNDECIDABLE), None)
    if undecided is not None and all(c.verdict in (*_EXPLAINED, Verdict.UNDECIDABLE) for c in own.values()):
        return Comparison(case.id, fw, SOURCE, Verdict.UNDECIDABLE, EXACT, None, f"{undecided.actual}'s own result cannot be decided in {case.dtype}: {why}", ", ".join(names) or None, undecided.undecided)
    return Comparison(case.id, fw, SOURCE, Verdict.MISMATCH, EXACT, None, why)


def _robust(case: Case, fw: str, result: RunResult, undefined: str) -> Comparison:
    """Invalid input: raising is right; silent output where the documented semantics have none is not."""
    what = describe_behaviour(result)
    if behaviour(result) == "raises":
        return Comparison(case.id, fw, REFERENCE, Verdict.PASS, None, None, f"rejects invalid input: {result.message}")
    if result.status is not Status.OK:
        return Comparison(case.id, fw, REFERENCE, _STATUS[result.status], None, None, what)
    kept = result.outputs["keep"].tolist()
    return Comparison(case.id, fw, REFERENCE, Verdict.MISMATCH, None, None, f"silent output (keeps {kept[:12]}) for input its documentation leaves {undefined}")


def judge(case: Case, results: dict[str, RunResult], ref_result: RunResult) -> list[Comparison]:
    """Every comparison of ``case``: each framework vs the reference, then vs torchvision."""
    if ref_result.status is Status.UNSUPPORTED and case.invalid:
        return [_robust(case, fw, res, ref_result.message) for fw, res in results.items()]
    if ref_result.status is not Status.OK:
        return [Comparison(case.id, REFERENCE, REFERENCE, Verdict.ERROR, None, None, f"the reference failed: {ref_result.message}")]
    ref = ref_result.outputs
    if UNDEFINED_FOR_TORCHVISION in ref:  # only the note's packing defines it: torchvision must refuse, MindSpore is judged
        outside = "undefined for torchvision (its documented boxes [N, 4], scores [N] of one dtype)"
        return [_robust(case, fw, res, outside) if fw == SOURCE else _own(case, fw, res, ref) for fw, res in results.items()]
    own = {fw: _own(case, fw, res, ref) for fw, res in results.items()}
    comparisons = list(own.values())
    for fw, source in pairs.framework_pairs(sorted(results, key=lambda f: f != SOURCE)):  # against torchvision
        comparisons.append(_pair(case, fw, results, {k: own[k] for k in (fw, source)}, ref))
    return comparisons
