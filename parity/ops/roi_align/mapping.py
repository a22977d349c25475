"""The torchvision <-> MindSpore RoIAlign parameter mapping, as data.

``TABLE`` mirrors the MindSpore migration note (shared/seed/) row for row; ``to_mindspore``
derives the MindSpore call from a torchvision call, either through the table or, for a
user who only renames the call, with MindSpore's own defaults for what the user did not
pass.  ``expected_semantics`` names what each framework *documents* for its call: the
reference evaluates exactly that, so a framework that departs from it is a finding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypedDict

from parity.engine.model import Port
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.geometry import (
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
    if port is Port.TRANSLATED:  # the one owner of translations; its rois shift is applied by the runner
        from parity.ops.roi_align.translate import torchvision_to_mindspore

        return torchvision_to_mindspore(attrs)[0]
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


def _mindspore_documented(attrs: Attrs, port: Port) -> Semantics:
    """MindSpore's documented semantics for its call; for a translated call, over the rois as given
    (it runs on shifted rois, parity.ops.roi_align.translate.translated_semantics)."""
    if port is Port.TRANSLATED:
        from parity.ops.roi_align.translate import translated_semantics

        return translated_semantics(attrs)
    return mindspore_semantics(to_mindspore(attrs, port))


#: framework -> what it documents for a torchvision-style call (ported per ``Port``).
DOCUMENTED_SEMANTICS: dict[str, Callable[[Attrs, Port], Semantics]] = {
    "torchvision": lambda attrs, port: torchvision_semantics(attrs),
    "mindspore": lambda attrs, port: _mindspore_documented(attrs, port),
    "torchvision-cuda": lambda attrs, port: torchvision_semantics(attrs),
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


# --- ONNX Runtime and Paddle -------------------------------------------------------------------
# Both document the Detectron convention pair that torchvision implements; their conventions are
# named for the document that states them, so a report says whose promise a result is held to.
# Both declare spatial_scale a float32 attribute: the reference rounds it so.

ONNX_OUTPUT_HALF_PIXEL = Convention(
    "onnx output_half_pixel",
    0.0,
    0.0,
    1.0,
    "ONNX RoiAlign spec: 'output_half_pixel' omits the -0.5 input shift (the backward-compatible, opset-10 "
    "behaviour); onnx.reference's RoiAlign clamps the roi size to >= 1 in this mode; adaptive grid "
    "ceil(roi_size / output_size)",
    scale_dtype="float32",
)
ONNX_HALF_PIXEL = Convention(
    "onnx half_pixel",
    0.5,
    0.0,
    None,
    "ONNX RoiAlign spec (opset 16+): 'half_pixel' shifts the input coordinates by -0.5, no size clamp "
    "(onnx.reference clamps only without half_pixel); adaptive grid ceil(roi_size / output_size)",
    scale_dtype="float32",
)
PADDLE_UNALIGNED = Convention(
    "paddle aligned=False",
    0.0,
    0.0,
    1.0,
    "paddle.vision.ops.roi_align docs: 'legacy implementation' (as torchvision aligned=False); adaptive grid "
    "ceil(roi_width / output_width)",
    scale_dtype="float32",
)
PADDLE_ALIGNED = Convention(
    "paddle aligned=True",
    0.5,
    0.0,
    None,
    "paddle.vision.ops.roi_align docs: box coordinates pixel-shifted by -0.5 (Detectron2), no clamp; adaptive "
    "grid ceil(roi_width / output_width)",
    scale_dtype="float32",
)


@dataclass(frozen=True)
class Column:
    """One more framework's side of a ``TABLE`` row: its parameter, default and a note."""

    parameter: str
    default: str
    note: str


#: framework -> one Column per TABLE row, in TABLE's order (input, boxes, output_size,
#: spatial_scale, sampling_ratio, aligned).
EXTRA_COLUMNS: dict[str, tuple[Column, ...]] = {
    "onnxruntime": (
        Column("X", "-", "an input; float16/float32/float64 (opset 16)"),
        Column("rois [K,4] + batch_indices [K]", "-", "inputs; the batch index is split off as int64 (truncated)"),
        Column("output_height, output_width", "1, 1", "attributes (all below too); two ints"),
        Column("spatial_scale", "1.0", "a FLOAT attribute: stored as float32"),
        Column("sampling_ratio", "0", "adaptive is 0; ORT rejects < 0, so -1 -> 0"),
        Column("coordinate_transformation_mode", "half_pixel", "False->output_half_pixel, True->half_pixel; opset 10: no attribute = False"),
    ),
    "paddle": (
        Column("x", "-", "float32/float64 on CPU (no float16)"),
        Column("boxes [K,4] + boxes_num [N] int32", "-", "boxes grouped per image in batch order"),
        Column("output_size", "-", "int or (h, w)"),
        Column("spatial_scale", "1.0", "a float attribute: stored as float32"),
        Column("sampling_ratio", "-1", "same meaning and default as torchvision"),
        Column("aligned", "True", "defaults differ: torchvision False, Paddle True"),
    ),
}


@dataclass(frozen=True)
class OnnxCall:
    """A one-node ONNX ``RoiAlign(X, rois, batch_indices)`` model (mode ``avg``).

    ``coordinate_transformation_mode`` is None for opset 10, which has no such attribute.
    """

    output_height: int
    output_width: int
    spatial_scale: float
    sampling_ratio: int
    coordinate_transformation_mode: str | None
    opset: int = 16
    mode: str = "avg"

    def attributes(self) -> dict[str, object]:
        attrs: dict[str, object] = {
            "mode": self.mode,
            "output_height": self.output_height,
            "output_width": self.output_width,
            "sampling_ratio": self.sampling_ratio,
            "spatial_scale": self.spatial_scale,
        }
        if self.coordinate_transformation_mode is not None:
            attrs["coordinate_transformation_mode"] = self.coordinate_transformation_mode
        return attrs

    def problem(self) -> str | None:
        """Why this call cannot be built as an ONNX model (None: it can)."""
        if self.opset < 16 and self.coordinate_transformation_mode not in (None, "output_half_pixel"):
            return f"ONNX RoiAlign opset {self.opset} has no coordinate_transformation_mode: aligned=True is not expressible"
        return None

    def render(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.attributes().items())
        return f"RoiAlign[opset {self.opset}]({args})(X, rois[:, 1:], batch_indices=int64(rois[:, 0]))"


ONNX_OPSETS = (10, 16)


def default_onnx_opset() -> int:
    """The opset the onnxruntime runner builds: 16, or ``PARITY_ONNX_OPSET`` (10 or 16).

    An environment variable, so that the driver (which judges) and the worker (which runs)
    agree: workers inherit the driver's environment.
    """
    import os

    value = int(os.environ.get("PARITY_ONNX_OPSET", "16"))
    if value not in ONNX_OPSETS:
        from parity.engine.errors import UsageError

        raise UsageError(f"PARITY_ONNX_OPSET must be one of {ONNX_OPSETS}; got {value}")
    return value


def to_onnx(attrs: Attrs, port: Port = Port.MAPPED, opset: int | None = None) -> OnnxCall:
    """The ONNX RoiAlign node for a torchvision call (as torch.onnx exports it), or with ONNX's defaults.

    torchvision's adaptive ``sampling_ratio`` (any value <= 0, default -1) is ONNX's 0.  Opset 10
    has no coordinate_transformation_mode: it is the ``output_half_pixel`` behaviour.
    """
    opset = default_onnx_opset() if opset is None else opset
    ph, pw = attrs.output_size
    if port is Port.DEFAULTS:  # sampling_ratio=0 and (opset 16) half_pixel
        return OnnxCall(ph, pw, float(attrs.spatial_scale), 0, "half_pixel" if opset >= 16 else None, opset)
    mode: str | None = "half_pixel" if attrs.aligned else "output_half_pixel"
    if opset < 16 and not attrs.aligned:
        mode = None
    return OnnxCall(ph, pw, float(attrs.spatial_scale), max(attrs.sampling_ratio, 0), mode, opset)


def onnx_semantics(call: OnnxCall) -> Semantics:
    """What the ONNX spec documents for ``call`` (opset 10 = output_half_pixel)."""
    aligned = call.coordinate_transformation_mode == "half_pixel"
    return Semantics(ONNX_HALF_PIXEL if aligned else ONNX_OUTPUT_HALF_PIXEL, call.sampling_ratio)


@dataclass(frozen=True)
class PaddleCall:
    """``paddle.vision.ops.roi_align(x, boxes, boxes_num, output_size, spatial_scale, sampling_ratio, aligned)``."""

    output_size: tuple[int, int]
    spatial_scale: float
    sampling_ratio: int
    aligned: bool

    def render(self) -> str:
        return (
            f"paddle.vision.ops.roi_align(x, boxes, boxes_num, output_size={self.output_size}, "
            f"spatial_scale={self.spatial_scale!r}, sampling_ratio={self.sampling_ratio}, aligned={self.aligned})"
        )


class _PaddleDefaults(TypedDict):
    sampling_ratio: int
    aligned: bool


PADDLE_DEFAULTS: _PaddleDefaults = {"sampling_ratio": -1, "aligned": True}


def to_paddle(attrs: Attrs, port: Port = Port.MAPPED) -> PaddleCall:
    """The Paddle call for a torchvision call: the same arguments, or Paddle's defaults (aligned=True)."""
    if port is Port.DEFAULTS:
        return PaddleCall(attrs.output_size, float(attrs.spatial_scale), **PADDLE_DEFAULTS)
    return PaddleCall(attrs.output_size, float(attrs.spatial_scale), attrs.sampling_ratio, attrs.aligned)


def paddle_semantics(call: PaddleCall) -> Semantics:
    """What Paddle documents for ``call`` (its docstring is torchvision's, including ceil)."""
    return Semantics(PADDLE_ALIGNED if call.aligned else PADDLE_UNALIGNED, call.sampling_ratio)


DOCUMENTED_SEMANTICS["onnxruntime"] = lambda attrs, port: onnx_semantics(to_onnx(attrs, port))
DOCUMENTED_SEMANTICS["paddle"] = lambda attrs, port: paddle_semantics(to_paddle(attrs, port))

#: framework -> the call it makes for a torchvision call (for reports: one column per framework).
CALLS: dict[str, Callable[[Attrs, Port], str]] = {
    "torchvision": lambda attrs, port: (
        f"torchvision.ops.roi_align(input, boxes, output_size={attrs.output_size}, spatial_scale={attrs.spatial_scale!r}, "
        f"sampling_ratio={attrs.sampling_ratio}, aligned={attrs.aligned})"
    ),
    "mindspore": lambda attrs, port: to_mindspore(attrs, port).render() + (
        f" on rois shifted ({_translated_shift(attrs)})" if port is Port.TRANSLATED else ""
    ),
    "onnxruntime": lambda attrs, port: to_onnx(attrs, port).render(),
    "paddle": lambda attrs, port: to_paddle(attrs, port).render(),
}


def _translated_shift(attrs: Attrs) -> str:
    from parity.ops.roi_align.translate import translated_shift

    return translated_shift(attrs).render()
