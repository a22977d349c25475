"""Known divergences, declared as data: scope, explanation, evidence and a checkable prediction.

A divergence is never a skipped check.  It predicts what a framework does inside its scope:
follow a variant of the reference semantics (a numeric prediction), raise, crash, or return
output for undefined input (a behaviour prediction), optionally leaving named rois unspecified.
The judge grants EXPECTED_DIVERGENCE only when the observation matches the prediction; a
framework that changes yields DIVERGENCE_CHANGED.
"""
from __future__ import annotations

import dataclasses
import operator
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from parity.engine.errors import InvalidInput
from parity.ops.roi_align.mapping import DOCUMENTED_SEMANTICS, MindSporeCall, Semantics, to_mindspore
from parity.engine.model import Case, Port
from parity.ops.roi_align.attrs import Attrs

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">": operator.gt,
    "has": lambda actual, value: value in actual,
}


def _rois_with_x_near_zero(case: Case) -> np.ndarray:
    """MindSpore's kernel skips a roi whose x1 and x2 are both within 0.001 of 0."""
    r = np.asarray(case.rois, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5:
        return np.zeros(0, dtype=bool)
    return (np.abs(r[:, 1]) < 0.001) & (np.abs(r[:, 3]) < 0.001)


def _fractional_batch_index(case: Case) -> bool:
    r = np.asarray(case.rois, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5:
        return False
    b = r[:, 0][np.isfinite(r[:, 0])]
    return bool(np.any(b != np.trunc(b)))


def _batch_index_above_last(case: Case) -> bool:
    """Some batch index in (N - 1, N): a valid image for truncation, past the last one for a range check."""
    r = np.asarray(case.rois, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5 or case.features.ndim != 4:
        return False
    n = case.features.shape[0]
    return bool(np.any((r[:, 0] > n - 1) & (r[:, 0] < n)))


def _negative_fractional_batch_index(case: Case) -> bool:
    """Some batch index in (-1, 0): image 0 for truncation, below the first one for a range check."""
    r = np.asarray(case.rois, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5:
        return False
    return bool(np.any((r[:, 0] > -1) & (r[:, 0] < 0)))


def _torchvision_grid_sign_mismatch(case: Case) -> bool:
    """torchvision's adaptive grid has one negative side (aligned=True, an inverted roi)."""
    from parity.ops.roi_align.geometry import TORCHVISION_ALIGNED, sampling_grid

    a = case.attrs
    if not a.aligned or a.sampling_ratio > 0 or case.features.ndim != 4:
        return False
    try:
        gh, gw, _ = sampling_grid(case.rois, case.features.shape[0], a.output_size, a.spatial_scale, a.sampling_ratio, TORCHVISION_ALIGNED)
    except ValueError:
        return False
    return bool(np.any((gh < 0) != (gw < 0)))


def _large_float16(case: Case) -> bool:
    """Float16 features large enough that a sum of a few samples overflows (65504)."""
    return case.dtype == "float16" and bool(np.nanmax(np.abs(case.features.astype(np.float64)), initial=0.0) > 65504 / 16)


def _float16_long_sums(case: Case) -> bool:
    """Float16 bins of so many samples that a float16 running sum loses a tenth of the value or more
    (u * n > parity.engine.compare.DECISIVE), small enough to emulate (parity.ops.roi_align.float16_serial.float16_serial_interval)."""
    from parity.engine.compare import DECISIVE, UNIT_ROUNDOFF
    from parity.ops.roi_align.mapping import torchvision_semantics
    from parity.ops.roi_align.limits import SERIAL_LIMIT
    from parity.ops.roi_align.geometry import sampling_grid

    if case.dtype != "float16" or case.features.ndim != 4 or case.rois.ndim != 2 or case.rois.shape[-1] != 5:
        return False
    sem = torchvision_semantics(case.attrs)
    r = case.rois.astype(np.float64)
    if len(r) == 0 or not np.isfinite(r).all():
        return False
    try:
        gh, gw, _ = sampling_grid(r, case.features.shape[0], case.attrs.output_size, case.attrs.spatial_scale, sem.sampling_ratio, sem.convention)
    except (InvalidInput, ValueError):  # an undefined grid: the input is judged elsewhere
        return False
    n = np.maximum(gh, 0) * np.maximum(gw, 0)
    ph, pw = case.attrs.output_size
    work = int(n.sum()) * ph * pw * case.features.shape[1]
    return bool(UNIT_ROUNDOFF["float16"] * n.max() > DECISIVE) and work <= SERIAL_LIMIT


def _nonfinite_features(case: Case) -> bool:
    f = case.features
    return f.dtype.kind == "f" and not bool(np.isfinite(f).all())


#: Facts about a case's inputs that a scope may test, as ``input.<name>``.
INPUT_FACTS: dict[str, Callable[[Case], Any]] = {
    "tags": lambda case: case.tags,
    "dtype": lambda case: case.dtype,
    "nonfinite_features": _nonfinite_features,
    "rois_with_x_near_zero": lambda case: bool(_rois_with_x_near_zero(case).any()),
    "fractional_batch_index": _fractional_batch_index,
    "batch_index_above_last": _batch_index_above_last,
    "negative_fractional_batch_index": _negative_fractional_batch_index,
    "torchvision_grid_sign_mismatch": _torchvision_grid_sign_mismatch,
    "large_float16": _large_float16,
    "float16_long_sums": _float16_long_sums,
    "scale_not_float32": lambda case: float(np.float32(case.attrs.spatial_scale)) != case.attrs.spatial_scale,
}

#: Named roi selections a prediction may leave unspecified.
def _float16_partial_overflow(case: Case, sem: Semantics) -> np.ndarray:
    """Bins whose running float16 sum may or may not overflow, depending on the summation order:
    the sum of |samples| passes 65504 while the sum itself does not."""
    from parity.ops.roi_align.geometry import sampling_grid
    from parity.ops.roi_align.reference import roi_align

    a = case.attrs
    x, r = case.features.astype(np.float64), case.rois.astype(np.float64)
    gh, gw, _ = sampling_grid(r, x.shape[0], a.output_size, a.spatial_scale, sem.sampling_ratio, sem.convention)
    count = np.maximum(gh * gw, 1)[:, None, None, None]
    args = (r, a.output_size, a.spatial_scale, sem.sampling_ratio, sem.convention)
    mask: np.ndarray = (roi_align(np.abs(x), *args) * count > 65504.0) & (np.abs(roi_align(x, *args)) * count <= 65504.0)
    return mask


#: Named output elements a prediction may leave unspecified: rule(case, documented semantics) -> a
#: boolean mask broadcastable to the output [K, C, PH, PW].
UNSPECIFIED: dict[str, Callable[[Case, Semantics], np.ndarray]] = {
    "rois-with-x-near-zero": lambda case, sem: _rois_with_x_near_zero(case)[:, None, None, None],
    "float16-partial-overflow": _float16_partial_overflow,
    "everything": lambda case, sem: np.ones(1, dtype=bool),
}


@dataclass(frozen=True)
class Condition:
    """``field op value`` over ``torchvision.<attr>``, ``mindspore.<arg>``, ``port`` or ``input.<fact>``."""

    field: str
    op: str
    value: Any

    def holds(self, case: Case, call: MindSporeCall, facts: dict[str, Any] | None = None) -> bool:
        """``facts`` keeps the input facts already computed for this case (the catalogue asks for
        the same few dozens of times)."""
        side, _, name = self.field.partition(".")
        if side == "port":
            actual = case.port.value
        elif side == "input":
            known = {} if facts is None else facts
            if name not in known:
                known[name] = INPUT_FACTS[name](case)
            actual = known[name]
        else:
            actual = getattr({"torchvision": case.attrs, "mindspore": call}[side], name)
        return _OPS[self.op](actual, self.value)


@dataclass(frozen=True)
class Prediction:
    """What one framework does inside a divergence's scope.

    ``variant``: it follows the reference semantics transformed by ``VARIANTS[variant]``.
    ``behaviour``: it ``raises``, ``crash``es or returns ``output`` for input the reference
    rejects, with ``message`` a substring of its error (or the signal name).
    ``unspecified``: output elements (``UNSPECIFIED``) the prediction does not cover.
    ``passes``: whether the variant describes the forward result, the gradient, or both.
    """

    framework: str
    variant: str | None = None
    behaviour: str | None = None
    message: str | None = None
    unspecified: str | None = None
    passes: tuple[str, ...] = ("forward", "backward")  # which results the variant describes


@dataclass(frozen=True)
class Divergence:
    """A declared difference from the documented behaviour, or between the two frameworks.

    ``documented`` says whether a framework's documentation states it (True) or it was found by
    measurement (False, with ``evidence``).  Frameworks without a prediction are predicted to
    follow their own documented semantics.
    """

    name: str
    scope: tuple[Condition, ...]
    explanation: str
    documented: bool
    evidence: str = ""
    predictions: tuple[Prediction, ...] = ()
    frameworks: tuple[str, ...] = ("torchvision", "mindspore")  # whom it concerns

    def concerns(self, pair: tuple[str, str], backward: bool = False) -> bool:
        """Whether it can explain a difference between these two frameworks' forward (or backward) results."""
        passes = {p for prediction in self.predictions for p in prediction.passes} or {"forward", "backward"}
        return set(self.frameworks) <= set(pair) and ("backward" if backward else "forward") in passes

    def applies(self, case: Case, call: MindSporeCall | None = None, facts: dict[str, Any] | None = None) -> bool:
        """Whether the case is in scope; ``call`` (the case's MindSpore call) and ``facts``
        (parity.ops.roi_align.divergence.Condition.holds) let a caller asking for a whole catalogue compute them once."""
        call = to_mindspore(case.attrs, case.port) if call is None else call
        return all(c.holds(case, call, facts) for c in self.scope)


def _floor_grid_no_guard(sem: Semantics) -> Semantics:
    conv = dataclasses.replace(
        sem.convention,
        name=sem.convention.name + " [floor grid, no empty-grid guard]",
        adaptive_grid="floor",
        empty_grid_nan=True,
    )
    return Semantics(conv, sem.sampling_ratio)


def _roi_end_mode_1(sem: Semantics) -> Semantics:
    """The roi window of MindSpore's roi_end_mode=1 (end + 1 before scaling, no clamp), other rules kept."""
    from parity.ops.roi_align.geometry import MINDSPORE_END_MODE_1 as mode_1

    conv = dataclasses.replace(
        sem.convention,
        name=sem.convention.name + " [roi_end_mode=1 window]",
        offset=mode_1.offset,
        end_pad=mode_1.end_pad,
        min_size=mode_1.min_size,
    )
    return Semantics(conv, sem.sampling_ratio)


def _round_batch_index(sem: Semantics) -> Semantics:
    conv = dataclasses.replace(sem.convention, name=sem.convention.name + " [rounded batch index]", batch_index="round")
    return Semantics(conv, sem.sampling_ratio)


def _knob(label: str, **changes: Any) -> Callable[[Semantics], Semantics]:
    """A variant that sets Convention fields (parity.ops.roi_align.geometry.Convention)."""

    def variant(sem: Semantics) -> Semantics:
        conv = dataclasses.replace(sem.convention, name=f"{sem.convention.name} [{label}]", **changes)
        return Semantics(conv, sem.sampling_ratio)

    return variant


VARIANTS: dict[str, Callable[[Semantics], Semantics]] = {
    "outside-reads-origin": _knob("outside samples read pixel (0, 0)", outside_reads_origin=True),
    "float16-sum-overflow": _knob("float16 running sum", sum_limit=65504.0),
    "float16-serial-sum": _knob("float16 serial sum", accumulate="float16"),
    "floor-grid-no-guard": _floor_grid_no_guard,
    "roi-end-mode-1": _roi_end_mode_1,
    "round-batch-index": _round_batch_index,
    # MindSpore's ROIAlignGrad: a roi with |x1| and |x2| < 0.001 is skipped (no gradient at all).
    "skip-rois-at-x-zero": _knob("rois with |x1|, |x2| < 0.001 skipped", skip_x_near_zero=0.001),
    # Paddle: the documented grid, but an empty one (gh * gw == 0) divides by zero (NaN).
    "no-empty-grid-guard": lambda sem: Semantics(
        dataclasses.replace(
            sem.convention, name=sem.convention.name + " [no empty-grid guard]", empty_grid_nan=True
        ),
        sem.sampling_ratio,
    ),
    # Paddle's gradient: the roi size clamped to >= 1 whatever ``aligned`` says.
    "clamp-roi-size": lambda sem: Semantics(
        dataclasses.replace(sem.convention, name=sem.convention.name + " [size clamped to >= 1]", min_size=1.0),
        sem.sampling_ratio,
    ),
}


#: applicable()'s answers, per case object, for as long as the case lives.
_APPLICABLE: weakref.WeakKeyDictionary[Case, tuple[Divergence, ...]] = weakref.WeakKeyDictionary()


def applicable(case: Case) -> tuple[Divergence, ...]:
    """The declared divergences whose scope contains this case.

    Cached per case object (cases are frozen and their arrays are not written to): the request
    header asks when a case is sent and judging asks again when its results are back, often
    hundreds of cases later in a pipelined suite, which a small LRU cache had already forgotten.
    The entry goes with the case, so a run's cache never holds arrays the run has let go.
    """
    found = _APPLICABLE.get(case)
    if found is None:
        from parity.ops.roi_align.divergences import DIVERGENCES

        call, facts = to_mindspore(case.attrs, case.port), dict[str, Any]()
        found = _APPLICABLE[case] = tuple(d for d in DIVERGENCES if d.applies(case, call, facts))
    return found


def predictions_for(framework: str, case: Case, backward: bool | None = None) -> list[tuple[Divergence, Prediction]]:
    """In-scope predictions for ``framework``; with ``backward`` given, only those about that pass."""
    wanted = None if backward is None else ("backward" if backward else "forward")
    return [
        (d, p)
        for d in applicable(case)
        for p in d.predictions
        if p.framework == framework and (wanted is None or wanted in p.passes)
    ]


def documented_semantics(framework: str, attrs: Attrs, port: Port) -> Semantics:
    """What ``framework`` documents for its (mapped) call."""
    return DOCUMENTED_SEMANTICS[framework](attrs, port)


def predicted_semantics(framework: str, case: Case, backward: bool = False) -> Semantics:
    """Documented semantics with every in-scope variant for ``framework`` (and pass) applied."""
    sem = documented_semantics(framework, case.attrs, case.port)
    for _, p in predictions_for(framework, case, backward):
        if p.variant:
            sem = VARIANTS[p.variant](sem)
    return sem


def unspecified(framework: str, case: Case) -> np.ndarray | None:
    """Forward output elements no prediction covers for ``framework`` (None: all are predicted)."""
    rules = [p.unspecified for _, p in predictions_for(framework, case, backward=False) if p.unspecified]
    if not rules:
        return None
    sem = documented_semantics(framework, case.attrs, case.port)
    mask: np.ndarray = np.logical_or.reduce([np.broadcast_to(UNSPECIFIED[name](case, sem), _out_shape(case)) for name in rules])
    return mask


def _out_shape(case: Case) -> tuple[int, int, int, int]:
    return (len(case.rois), case.features.shape[1], *case.attrs.output_size)

