"""box_iou's declared divergences, each with the evidence it was declared on.

A divergence with ``predict`` says exactly what the framework computes (a reference semantics
the judge evaluates and holds the framework to); one without it names a documented difference
between the two frameworks' calls, which their documented semantics already encode.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from parity.engine.model import Case, Port
from parity.ops.box_iou.reference import Semantics


@dataclass(frozen=True)
class Divergence:
    name: str
    framework: str
    explanation: str
    documented: bool
    evidence: str
    applies: Callable[[Case], bool]
    predict: Callable[[Semantics], Semantics] | None = None


def _pixel_inclusive(sem: Semantics) -> Semantics:
    return dataclasses.replace(sem, key=sem.key + "_plus1", plus_one=True, eps=1e-10)


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
)


def applicable(case: Case, framework: str) -> tuple[Divergence, ...]:
    return tuple(d for d in DIVERGENCES if d.framework == framework and d.applies(case))
