"""box_iou's signature and how each framework is called: the mapping, as data.

torchvision: ``box_iou(boxes1 [N, 4], boxes2 [M, 4]) -> [N, M]``, boxes as (x1, y1, x2, y2) with
``0 <= x1 < x2`` and ``0 <= y1 < y2`` (its documented domain).  MindSpore:
``ops.iou(anchor_boxes [N', 4], gt_boxes [M', 4], mode) -> [M', N']`` (documented: the result is
gt by anchor), ``mode`` "iou" (overlap / union) or "iof" (overlap / area of the ground-truth box).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from parity.engine.model import Port

MODES = ("iou", "iof")


@dataclass(frozen=True)
class Attrs:
    """A box_iou case's parameters: MindSpore's ``mode`` (torchvision's box_iou is IoU only)."""

    mode: str = "iou"

    def label(self) -> str:
        return f"mode={self.mode}"

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attrs:
        return cls(str(d["mode"]))


@dataclass(frozen=True)
class MindSporeCall:
    """How the MindSpore call takes torchvision's two inputs."""

    anchor: str  # which torchvision input is passed as anchor_boxes
    gt: str  # ... and as gt_boxes
    mode: str
    shift: float = 0.0  # subtracted from x2 and y2 of both inputs (the exact translation)

    def render(self) -> str:
        def arg(name: str) -> str:
            return f"{name} - Tensor([0, 0, {self.shift:g}, {self.shift:g}])" if self.shift else name

        return f"mindspore.ops.iou({arg(self.anchor)}, {arg(self.gt)}, mode={self.mode!r})"


#: The exact translation's shift: MindSpore's CPU kernel measures widths as x2 - x1 + 1
#: (parity.ops.box_iou.divergences), so x2 - 1 makes them x2 - x1 again.
TRANSLATION_SHIFT = 1.0


def to_mindspore(attrs: Attrs, port: Port) -> MindSporeCall:
    """The MindSpore call for a torchvision box_iou call.

    MAPPED: the migration a reader of both documents writes: anchor = boxes2, gt = boxes1, so the
    documented ``[M', N']`` result is torchvision's ``[N, M]``.  DEFAULTS: the call renamed only
    (anchor = boxes1): the documented result is the transpose.  TRANSLATED: MAPPED on inputs whose
    x2, y2 are shifted by -1, which undoes the kernel's pixel-inclusive widths.
    """
    if port is Port.DEFAULTS:
        return MindSporeCall("boxes1", "boxes2", attrs.mode)
    return MindSporeCall("boxes2", "boxes1", attrs.mode, TRANSLATION_SHIFT if port is Port.TRANSLATED else 0.0)


def torchvision_call(attrs: Attrs, port: Port) -> str:
    return "torchvision.ops.box_iou(boxes1, boxes2)"


#: runner -> the call it makes for a case's attrs and port, as a user would write it
CALLS: dict[str, Callable[[Attrs, Port], str]] = {
    "torchvision": torchvision_call,
    "mindspore": lambda attrs, port: to_mindspore(attrs, port).render(),
}

#: The mapping table (parity mapping --op box_iou): torchvision argument, MindSpore argument, note.
TABLE = (
    ("boxes1 [N, 4]", "gt_boxes [M', 4] (second argument)", "MindSpore's result is gt by anchor: pass boxes1 as gt_boxes"),
    ("boxes2 [M, 4]", "anchor_boxes [N', 4] (first argument)", "so that the result is [N, M] as torchvision's"),
    ("(IoU only)", "mode='iou'", "mode='iof' divides by the gt box's area; torchvision has no such op"),
    ("x2 - x1 (continuous widths)", "x2 - 1 on both inputs", "MindSpore's CPU kernel uses x2 - x1 + 1 (measured, not documented)"),
)
