"""box_iou's declared divergences, each with the evidence it was declared on.

A divergence with ``predict`` says exactly what the framework computes (a reference semantics
the judge evaluates and holds the framework to, its result dtype included); one with
``behaviour`` says how it reacts to input outside its documented domain (raises / returns output,
optionally with a message fragment and the result's dtype); one with neither names a documented
difference between the two frameworks' calls, which their documented semantics already encode.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from parity.engine import declared
from parity.engine.declared import Declared
from parity.engine.model import Case, Port
from parity.ops.box_iou.reference import Semantics


@dataclass(frozen=True)
class Behaviour:
    """A predicted reaction: ``kind`` as parity.engine.behaviour names it, and what it must show."""

    kind: str  # "raises", "output", "output with NaN/Inf", "crash"
    message: str | None = None  # a fragment of the framework's message
    dtype: str | None = None  # the dtype of the output it returns


@dataclass(frozen=True)
class Divergence(Declared[Semantics]):
    behaviour: Behaviour | None = None


def _pixel_inclusive(sem: Semantics) -> Semantics:
    return dataclasses.replace(sem, key=sem.key + "_plus1", plus_one=True, eps=1e-10)


def _float16_upcast(sem: Semantics) -> Semantics:
    return dataclasses.replace(sem, key=sem.key + "_upcast", compute="float32", result="float32")


def _as_written(sem: Semantics) -> Semantics:
    """The documented formula evaluated on any input (IEEE arithmetic: NaN propagates, x / 0 = inf)."""
    return dataclasses.replace(sem, key=sem.key + "_anywhere", domain="")


def _mindspore_as_written(sem: Semantics) -> Semantics:
    return _as_written(_pixel_inclusive(sem))


def _dtype(case: Case) -> str:
    return str(np.asarray(case.inputs["boxes1"]).dtype)


def _bad_coordinates(case: Case) -> bool:
    """An invalid case whose boxes are of one dtype: the formula as written has a meaning there
    (a mix of dtypes has its own declared reaction)."""
    return case.invalid and len({np.asarray(b).dtype for b in case.inputs.values()}) == 1


def _one_dimensional(case: Case) -> bool:
    return any(np.ndim(b) == 1 for b in case.inputs.values())


def _mixed_floats(case: Case) -> bool:
    kinds = {np.asarray(b).dtype for b in case.inputs.values()}
    return len(kinds) > 1 and all(k.kind == "f" for k in kinds)


DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        "mindspore-iou-pixel-inclusive-widths",
        "mindspore",
        "MindSpore's iou/IOU measures every width and height as x2 - x1 + 1 (pixel-inclusive coordinates, as in "
        "the original R-CNN code), clamps the overlap's at 0, and adds 1e-10 to the denominator; its documentation "
        "states only overlap / union (or / gt area). Boxes a few units wide differ by tens of percent; touching "
        "boxes overlap by 1 x 1. Exact translation: subtract 1 from x2 and y2 of both inputs (parity translate --op box_iou).",
        False,
        "Measured on CPU (mindspore 2.10.0): boxes1 [[0,0,2,2],[1,1,3,3]], boxes2 [[1,1,3,3],[0,0,1,1]]: torchvision "
        "[[0.1429, 0.25], [1, 0]], ops.iou(boxes2, boxes1) [[0.2857, 0.4444], [1, 0.0833]] = (w+1)(h+1) areas exactly; "
        "source: mindspore/ccsrc/.../cpu/iou_cpu_kernel.cc (overlaps_w = max(0, I_x1 - I_x0 + 1), "
        "area = (x1 - x0 + 1) * (y1 - y0 + 1), / (union + EPS), EPS = 1e-10).",
        lambda case: True,
        _pixel_inclusive,
    ),
    Divergence(
        "mindspore-iou-result-is-gt-by-anchor",
        "mindspore",
        "mindspore.ops.iou(anchor_boxes [N, 4], gt_boxes [M, 4]) returns [M, N] (documented): the call renamed from "
        "box_iou(boxes1, boxes2) returns the transpose of torchvision's result (a shape error unless N == M). "
        "Pass boxes1 as gt_boxes: ops.iou(boxes2, boxes1).",
        True,
        "MindSpore API docs, mindspore.ops.iou: 'Returns: Tensor, the IOU/IOF values, shape (M, N)'.",
        lambda case: case.port is Port.DEFAULTS,
    ),
    Divergence(
        "mindspore-iou-no-batch-dimensions",
        "mindspore",
        "torchvision's box_iou documents batched boxes [..., N, 4] -> [..., N, M]; mindspore.ops.iou documents "
        "[N, 4] and [M, 4] only and raises ValueError for 3-D boxes: a batched call has to loop.",
        True,
        "torchvision docs, box_iou: 'boxes1 (Tensor[..., N, K])'; MindSpore API docs, mindspore.ops.iou: "
        "'anchor_boxes (Tensor) - shape (N, 4)'. Measured: ops.iou on [1, 2, 4] boxes raises ValueError "
        "('must have the same dimension size and must be 2').",
        lambda case: any(np.ndim(b) > 2 for b in case.inputs.values()),
    ),
    Divergence(
        "mindspore-iou-float-dtypes-only",
        "mindspore",
        "torchvision's box_iou takes integer boxes (computed in int32/int64, returned as float32 by true division); "
        "mindspore.ops.iou documents float16, float32 and float64 only and raises TypeError for integers.",
        True,
        "MindSpore API docs, mindspore.ops.iou: 'data type float16, float32 or float64'; torchvision/ops/_utils.py "
        "_upcast keeps int32/int64. Measured: ops.iou on int32 boxes raises TypeError.",
        lambda case: np.asarray(case.inputs["boxes1"]).dtype.kind in "iu",
    ),
    Divergence(
        "torchvision-box-iou-float16-computed-in-float32",
        "torchvision",
        "torchvision's box_iou computes float16 boxes in float32 and returns float32: box_area and the overlap "
        "widths go through _upcast (float16 -> float32) before any product, so areas such as 300 x 300 = 90000 that "
        "overflow float16 (65504) come out right; the overlap widths rb - lt are still rounded in float16 first. "
        "Its documentation names no result dtype, and torch's ops return their inputs' dtype: a float16 user gets "
        "float32, and twice the memory. MindSpore returns float16 (documented: the dtype of anchor_boxes).",
        False,
        "torchvision/ops/boxes.py (0.29.1): box_area: boxes = _upcast(boxes); _box_inter_union: "
        "wh = _upcast(rb - lt).clamp(min=0); ops/_utils.py _upcast: float16 -> t.float(). Measured on CPU: "
        "box_iou(float16 [[0,0,300,300]], [[100,100,400,400]]) = 0.2857143 as torch.float32 "
        "(40000 / 140000); mindspore.ops.iou on the same float16 boxes returns float16 0.",
        lambda case: _dtype(case) == "float16",
        _float16_upcast,
    ),
    Divergence(
        "torchvision-box-iou-outside-domain-as-written",
        "torchvision",
        "Outside its documented domain (0 <= x1 < x2, 0 <= y1 < y2: negative, degenerate or inverted boxes, NaN "
        "or Inf) torchvision raises nothing and returns its formula as written: the overlap clamped at 0, areas "
        "(x2 - x1)(y2 - y1) unclamped (an inverted box has a positive or negative area), NaN propagated, "
        "0 / 0 = NaN for two zero-area boxes. Silent numbers where MindSpore also returns numbers.",
        False,
        "Measured on CPU (torchvision 0.29.1): [[2,2,0,0]] vs [[1,1,3,3]] -> 0; [[1,1,1,1]] vs itself -> NaN; "
        "[[-3,-3,-1,-1]] vs [[-2,-2,0,0]] -> 1/7; x2 = NaN -> NaN in that box's row; x2 = Inf -> 0.",
        _bad_coordinates,
        _as_written,
    ),
    Divergence(
        "mindspore-iou-outside-domain-as-written",
        "mindspore",
        "For boxes without an extent (degenerate or inverted) or with NaN/Inf corners, MindSpore raises nothing "
        "and returns its pixel-inclusive kernel as written (mindspore-iou-pixel-inclusive-widths): a zero-area box "
        "is 1 x 1, so [[1,1,1,1]] against itself is 1; NaN propagates.",
        False,
        "Measured on CPU (mindspore 2.10.0): ops.iou([[1,1,1,1]], [[1,1,1,1]]) = 1; an inverted gt box [2,2,0,0] "
        "overlaps nothing (0); gt x1 = NaN -> NaN in that gt box's row; x1 = Inf -> 0.",
        _bad_coordinates,
        _mindspore_as_written,
    ),
    Divergence(
        "torchvision-box-iou-1d-box-as-one-row",
        "torchvision",
        "A single box passed as a 1-D tensor [4] (outside the documented [..., N, 4]) is taken as [1, 4]: "
        "torchvision returns a [1, M] result and raises nothing; MindSpore raises ValueError.",
        False,
        "Measured on CPU (torchvision 0.29.1): box_iou(tensor([0,0,2,2]), [[1,1,3,3],[0,0,1,1]]) -> shape (1, 2), "
        "[[0.1429, 0.25]]; boxes1[..., None, :2] indexes a [4] tensor as one row.",
        _one_dimensional,
        behaviour=Behaviour("output"),
    ),
    Divergence(
        "torchvision-box-iou-mixed-dtypes-promoted",
        "torchvision",
        "Boxes of two float dtypes (float32 and float64) are not documented; torchvision promotes them as torch's "
        "elementwise ops do and returns the wider dtype; MindSpore raises TypeError ('the input type must be same').",
        False,
        "Measured on CPU (torchvision 0.29.1): box_iou(float32 boxes, float64 boxes) -> torch.float64 result.",
        _mixed_floats,
        behaviour=Behaviour("output", dtype="float64"),
    ),
)


def applicable(case: Case, framework: str) -> tuple[Divergence, ...]:
    return declared.applicable(DIVERGENCES, case, framework)
