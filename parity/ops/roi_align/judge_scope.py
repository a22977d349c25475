"""What each declared divergence explains in an EXPECTED_DIVERGENCE: its size over the elements it
covers, and what came back where a prediction leaves the output unspecified.

The last of the judge's steps (parity.ops.roi_align.judge): it never changes a verdict, only adds
evidence (``Comparison.explained`` and notes in the message), so that a report shows how large the
difference each divergence accounts for is, and :func:`held_notes` reads those notes back.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from parity.engine.model import Case, Comparison, RunResult, Status, Verdict
from parity.engine.op import REFERENCE
from parity.ops.roi_align.divergence import UNSPECIFIED, documented_semantics, predicted_semantics, predictions_for
from parity.ops.roi_align.judge_own import BOUND, GRAD, reference_tolerance


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
    frameworks: tuple[str, ...] = (fw,) if own else (c.expected.removesuffix(" (grad)"), fw)
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
    tol = c.tolerance or reference_tolerance(case.dtype)

    def visible(x: np.ndarray, y: np.ndarray, allowance: np.ndarray | float = bound) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            same: np.ndarray = (np.isnan(x) & np.isnan(y)) | (x == y) | (np.abs(x - y) <= tol.atol + tol.rtol * np.abs(y) + allowance)
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
