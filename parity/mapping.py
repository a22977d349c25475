"""The torchvision <-> MindSpore RoIAlign parameter mapping, as data.

``TABLE`` mirrors the MindSpore migration note (shared/seed/) row for row; ``to_mindspore``
derives the MindSpore call from a torchvision call, either through the table or, for a
user who only renames the call, with MindSpore's own defaults for what the user did not
pass.  ``expected_semantics`` names what each framework *documents* for its call: the
reference evaluates exactly that, so a framework that departs from it is a finding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from parity.model import Attrs, Port
from parity.reference import (
    MINDSPORE_END_MODE_0,
    MINDSPORE_END_MODE_1,
    TORCHVISION_ALIGNED,
    TORCHVISION_UNALIGNED,
    Convention,
)


@dataclass(frozen=True)
class Row:
    """One parameter of the mapping table."""

    torchvision: str
    mindspore: str
    where: str
    torchvision_default: str
    mindspore_default: str
    note: str


TABLE: tuple[Row, ...] = (
    Row("input", "features", "call argument", "-", "-", "float16/float32 only in MindSpore (no float64)"),
    Row("boxes", "rois", "call argument", "-", "-", "MindSpore takes Tensor[K,5] only; a list of [L,4] is converted"),
    Row("output_size", "pooled_height, pooled_width", "constructor", "-", "-", "int or (h, w) -> two ints"),
    Row("spatial_scale", "spatial_scale", "constructor", "1.0", "-", "must be a Python float in MindSpore"),
    Row("sampling_ratio", "sample_num", "constructor", "-1", "2", "defaults differ: adaptive vs 2"),
    Row("aligned", "roi_end_mode", "constructor", "False", "1", "False->0 identical; True->1 differs (documented)"),
)


@dataclass(frozen=True)
class MindSporeCall:
    """``ops.ROIAlign(pooled_height, pooled_width, spatial_scale, sample_num, roi_end_mode)(features, rois)``."""

    pooled_height: int
    pooled_width: int
    spatial_scale: float
    sample_num: int
    roi_end_mode: int

    def render(self) -> str:
        return (
            f"ops.ROIAlign(pooled_height={self.pooled_height}, pooled_width={self.pooled_width}, "
            f"spatial_scale={self.spatial_scale!r}, sample_num={self.sample_num}, "
            f"roi_end_mode={self.roi_end_mode})(features, rois)"
        )


MINDSPORE_DEFAULTS = {"sample_num": 2, "roi_end_mode": 1}


def to_mindspore(attrs: Attrs, port: Port = Port.MAPPED) -> MindSporeCall:
    """The MindSpore call for a torchvision call, per the mapping table or MindSpore's defaults.

    With ``Port.DEFAULTS`` the call keeps only what a plain rename carries over (output
    size, spatial scale); ``sample_num`` and ``roi_end_mode`` take MindSpore's defaults.
    """
    ph, pw = attrs.output_size
    if port is Port.DEFAULTS:
        return MindSporeCall(ph, pw, float(attrs.spatial_scale), **MINDSPORE_DEFAULTS)
    return MindSporeCall(ph, pw, float(attrs.spatial_scale), attrs.sampling_ratio, int(attrs.aligned))


@dataclass(frozen=True)
class Semantics:
    """A reference evaluation: the convention and sampling a framework documents for its call."""

    convention: Convention
    sampling_ratio: int

    @property
    def key(self) -> str:
        return f"{self.convention.name}, sampling_ratio={self.sampling_ratio}"


def torchvision_semantics(attrs: Attrs) -> Semantics:
    """torchvision's documented behaviour for ``attrs``."""
    return Semantics(TORCHVISION_ALIGNED if attrs.aligned else TORCHVISION_UNALIGNED, attrs.sampling_ratio)


def mindspore_semantics(call: MindSporeCall) -> Semantics:
    """MindSpore's documented behaviour for ``call``.

    ``roi_end_mode=0`` is documented as the legacy implementation, i.e. torchvision's
    ``aligned=False`` (adaptive sampling included); ``roi_end_mode=1`` as the end shifted
    by one pixel before scaling, with no size clamp (measured, see MINDSPORE_END_MODE_1_EVIDENCE).
    """
    convention = MINDSPORE_END_MODE_1 if call.roi_end_mode == 1 else MINDSPORE_END_MODE_0
    return Semantics(convention, call.sample_num)


#: framework -> what it documents for a torchvision-style call (ported per ``Port``).
DOCUMENTED_SEMANTICS: dict[str, Callable[[Attrs, Port], Semantics]] = {
    "torchvision": lambda attrs, port: torchvision_semantics(attrs),
    "mindspore": lambda attrs, port: mindspore_semantics(to_mindspore(attrs, port)),
}


MINDSPORE_END_MODE_1_EVIDENCE = """\
MindSpore documents roi_end_mode=1 only as "end pixel shifted by +1*spatial_scale"; whether the
roi size is clamped to >= 1 (as in mode 0 / torchvision aligned=False) is not documented.
Measured with mindspore 2.10.0 on CPU, float32, 6 rois per case over a 2x3x10x12 map, output 3x4,
spatial_scale 0.5, sample_num 2 and 1, rois normal / inverted / smaller than a pixel: max
|MindSpore - reference| is <= 1.3e-6 without the clamp and 0.37 to 2.8 with it
(tests/test_findings.py::test_roi_end_mode_1_does_not_clamp_the_roi_size re-measures it). The
MindSpore CPU kernel source agrees: it clamps only `if (roi_end_mode == 0)`. The reference
therefore uses no clamp for roi_end_mode=1.
"""
