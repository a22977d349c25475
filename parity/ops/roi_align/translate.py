"""Exact call translations between torchvision and MindSpore RoIAlign, derived from the conventions.

Both frameworks map a roi to a window ``start = x1*s - offset``, ``end = (x2 + end_pad)*s - offset``
(parity.ops.roi_align.geometry.Convention).  Matching the target's window to the source's gives, per roi,
``x1' = x1 + (offset_t - offset_s)/s`` and ``x2' = x2 + end_pad_s - end_pad_t + (offset_t - offset_s)/s``
(same for y).  The translation is exact when, in addition, both conventions clamp the size the
same way (or the rois are large enough for the clamp not to act) and both sample the same grid.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from parity.ops.roi_align.mapping import CALLS, MindSporeCall, Semantics
from parity.engine.model import Port
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.geometry import (
    MINDSPORE_END_MODE_0,
    MINDSPORE_END_MODE_1,
    TORCHVISION_ALIGNED,
    TORCHVISION_UNALIGNED,
    Convention,
)

MINDSPORE_MODES = {0: MINDSPORE_END_MODE_0, 1: MINDSPORE_END_MODE_1}


@dataclass(frozen=True)
class RoiShift:
    """``x1' = x1 + start``, ``x2' = x2 + end`` (and the same for y), in image coordinates."""

    start: float
    end: float

    def apply(self, rois: np.ndarray) -> np.ndarray:
        out = np.array(rois, dtype=np.float64, copy=True)
        out[:, [1, 2]] += self.start
        out[:, [3, 4]] += self.end
        return out.astype(np.asarray(rois).dtype)

    def render(self) -> str:
        if self.start == 0 and self.end == 0:
            return "rois unchanged"
        def term(v: float) -> str:
            return f"{'+' if v >= 0 else '-'} {abs(v):g}"

        a, b = term(self.start), term(self.end)
        return f"x1' = x1 {a}, y1' = y1 {a}, x2' = x2 {b}, y2' = y2 {b}"


@dataclass(frozen=True)
class Translation:
    """A target call, the roi transformation it needs, and when it is exact."""

    source: str
    target: str
    shift: RoiShift
    exact_when: tuple[str, ...]
    not_exact: tuple[str, ...]


def _shift(src: Convention, dst: Convention, scale: float) -> RoiShift:
    d = (dst.offset - src.offset) / scale
    return RoiShift(d, src.end_pad - dst.end_pad + d)


def _clamp_conditions(src: Convention, dst: Convention) -> list[str]:
    if src.min_size == dst.min_size:
        return []
    clamp = src.min_size or dst.min_size
    who = src.name if src.min_size else dst.name
    return [f"every roi's scaled width and height >= {clamp:g} pixel ({who} clamps smaller rois to {clamp:g}, the other does not)"]


def _pick(src: Convention, targets: dict[int, Convention]) -> int:
    """The target mode with the same size clamp (then the smallest shift)."""
    return min(targets, key=lambda m: (targets[m].min_size != src.min_size, abs(targets[m].offset - src.offset) + abs(targets[m].end_pad - src.end_pad)))


_SKIP = (
    "no translated roi has both |x1'| < 0.001 and |x2'| < 0.001: MindSpore's CPU kernel skips such a roi "
    "and leaves its output unwritten (from the kernel source)"
)


def torchvision_to_mindspore(attrs: Attrs) -> tuple[MindSporeCall, Translation]:
    """The MindSpore call (and roi shift) that reproduces a torchvision call."""
    src = TORCHVISION_ALIGNED if attrs.aligned else TORCHVISION_UNALIGNED
    mode = _pick(src, MINDSPORE_MODES)
    dst = MINDSPORE_MODES[mode]
    ph, pw = attrs.output_size
    call = MindSporeCall(ph, pw, float(attrs.spatial_scale), attrs.sampling_ratio, mode)
    exact = ["integer batch indices (torchvision truncates a fractional index, MindSpore rounds it)", _SKIP]
    exact += _clamp_conditions(src, dst)
    not_exact = []
    if attrs.sampling_ratio <= 0:
        not_exact.append(
            "adaptive sampling (sampling_ratio <= 0): MindSpore samples floor(size/pooled) points per bin side, "
            "torchvision ceil(size/pooled), and MindSpore returns NaN for bins smaller than one pixel. Exact only "
            "for rois whose scaled size is a multiple of the output size; otherwise pass a fixed sampling_ratio to both."
        )
    return call, Translation(
        CALLS["torchvision"](attrs, Port.MAPPED),
        call.render(),
        _shift(src, dst, attrs.spatial_scale),
        tuple(exact),
        tuple(not_exact),
    )


def translated_shift(attrs: Attrs) -> RoiShift:
    """The roi shift of the exact MindSpore translation of a torchvision call (Port.TRANSLATED)."""
    return torchvision_to_mindspore(attrs)[1].shift


def mindspore_rois(attrs: Attrs, rois: np.ndarray) -> np.ndarray:
    """The rois the translated MindSpore call takes for a torchvision call's rois (in their dtype)."""
    return translated_shift(attrs).apply(rois)


def translated_semantics(attrs: Attrs) -> Semantics:
    """What MindSpore documents for the translated call, stated over the rois as the user gave them.

    MindSpore's window on rois shifted by ``(a, b)`` is ``start = (x1 + a)*s - offset``,
    ``end = (x2 + b + end_pad)*s - offset``: its own convention with ``offset - a*s`` and
    ``end_pad + b - a``; every other rule (clamp, grid, batch index) stays MindSpore's.
    """
    call, t = torchvision_to_mindspore(attrs)
    conv = MINDSPORE_MODES[call.roi_end_mode]
    a, b, s = t.shift.start, t.shift.end, call.spatial_scale
    shifted = dataclasses.replace(
        conv,
        name=f"{conv.name} on rois shifted ({t.shift.render()})",
        offset=conv.offset - a * s,
        end_pad=conv.end_pad + b - a,
    )
    return Semantics(shifted, call.sample_num)


def mindspore_to_torchvision(call: MindSporeCall) -> tuple[Attrs, Translation]:
    """The torchvision call (and roi shift) that reproduces a MindSpore call."""
    src = MINDSPORE_MODES[call.roi_end_mode]
    targets = {0: TORCHVISION_UNALIGNED, 1: TORCHVISION_ALIGNED}
    aligned = bool(_pick(src, targets))
    dst = targets[int(aligned)]
    attrs = Attrs((call.pooled_height, call.pooled_width), call.spatial_scale, call.sample_num, aligned)
    exact = ["integer batch indices (torchvision truncates a fractional index, MindSpore rounds it)", _SKIP.replace("translated", "source")]
    exact += _clamp_conditions(src, dst)
    not_exact = []
    if call.sample_num <= 0:
        not_exact.append(
            "sample_num <= 0: no torchvision call reproduces MindSpore's floor grid and its NaN for sub-pixel bins"
        )
    return attrs, Translation(
        call.render(),
        CALLS["torchvision"](attrs, Port.MAPPED),
        _shift(src, dst, call.spatial_scale),
        tuple(exact),
        tuple(not_exact),
    )


@dataclass(frozen=True)
class Check:
    """One verification input set: the largest |torchvision - MindSpore| under the translation."""

    label: str
    max_abs: float | None
    message: str = ""
    passed: bool = False  # within twice the dtype's default tolerance, NaN at the same positions


def verification_inputs(attrs: Attrs) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The seed note's inputs plus seeded float32 cases of every roi geometry the conditions allow."""
    from parity.ops.roi_align.generate import make_case, seed_cases

    seed = next(seed_cases())
    inputs = [("seed-note", seed.features, seed.rois)]
    for geometry in ("inside", "border", "huge", "batch"):
        case = make_case("translate", attrs, "float32", geometry)
        inputs.append((geometry, case.features, case.rois))
    return inputs


def verify(
    attrs: Attrs, call: MindSporeCall, tv_shift: RoiShift, ms_shift: RoiShift, log_dir: str,
    inputs: list[tuple[str, np.ndarray, np.ndarray]] | None = None,
) -> list[Check]:
    """Run torchvision (``attrs``, rois + ``tv_shift``) and MindSpore (``call``, rois + ``ms_shift``)
    on ``inputs`` (label, features, rois; default: verification_inputs)."""
    from pathlib import Path

    from parity.engine.compare import tolerance_for
    from parity.engine.model import Status
    from parity.engine.pool import Worker

    workers = {name: Worker(name, Path(log_dir) / f"{name}.log") for name in ("torchvision", "mindspore")}
    checks = []
    try:
        for label, features, rois in inputs if inputs is not None else verification_inputs(attrs):
            header = {"case_id": label, "attrs": attrs.to_json(), "port": "mapped", "mindspore_call": call.__dict__}
            outs = {}
            for name, shift in (("torchvision", tv_shift), ("mindspore", ms_shift)):
                workers[name].send(header, {"features": features, "rois": shift.apply(rois)})
                outs[name] = workers[name].receive(label)
            failed = [r for r in outs.values() if r.status is not Status.OK]
            if failed:
                checks.append(Check(label, None, f"{failed[0].runner}: {failed[0].status.value} {failed[0].message}"))
                continue
            a, b = (outs[n].outputs["out"].astype(np.float64) for n in ("torchvision", "mindspore"))
            if a.shape != b.shape:
                checks.append(Check(label, None, f"shapes differ: {a.shape} vs {b.shape}"))
                continue
            # NaN and +-Inf must sit at the same places with the same values; numbers within tolerance
            nan_differs = not np.array_equal(np.where(np.isfinite(a), 0, a), np.where(np.isfinite(b), 0, b), equal_nan=True)
            both = np.isfinite(a) & np.isfinite(b)
            diff = float(np.max(np.abs(a - b)[both])) if both.any() else 0.0
            tol = tolerance_for(str(features.dtype))
            close = bool(np.all(np.abs(a - b)[both] <= 2 * tol.atol + 2 * tol.rtol * np.abs(a[both])))
            passed = close and not nan_differs
            checks.append(Check(label, diff, "NaN/Inf at different positions" if nan_differs else "", passed))
    finally:
        for w in workers.values():
            w.stop()
    return checks
