"""nms's signature and how each framework is called: the mapping, as data.

torchvision: ``nms(boxes [N, 4], scores [N], iou_threshold) -> kept indices`` (int64, in
decreasing score) and ``batched_nms(boxes, scores, idxs [N], iou_threshold)`` (NMS per class).
MindSpore: ``NMSWithMask(iou_threshold)(bboxes [N, 5]) -> (output_boxes, output_idx,
selected_mask)``: boxes and scores packed into one input, the kept boxes given as a mask over
the boxes sorted by score.  MindSpore has no batched NMS: its users offset each class's boxes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from parity.engine.model import Port
from parity.ops.nms.reference import stable_order


@dataclass(frozen=True)
class Attrs:
    """An nms case's parameters: the IoU threshold, and whether boxes carry classes (batched_nms)."""

    iou_threshold: float = 0.5
    batched: bool = False

    def label(self) -> str:
        return f"t={self.iou_threshold:g}{',batched' if self.batched else ''}"

    def to_json(self) -> dict[str, Any]:
        return {"iou_threshold": self.iou_threshold, "batched": self.batched}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attrs:
        return cls(float(d["iou_threshold"]), bool(d["batched"]))


def floor_threshold(threshold: float, dtype: str) -> float:
    """The largest ``dtype`` value <= ``threshold``: MindSpore compares IoU > threshold in the
    dtype, and for any IoU on the dtype's grid, IoU > floor(t) is IoU > t (t exact)."""
    t = np.asarray(threshold, dtype=np.float64)
    low = t.astype(dtype)
    if low.astype(np.float64) > t:
        low = np.nextafter(low, np.asarray(-np.inf, dtype=dtype))
    return float(low)


def offset_boxes(boxes: np.ndarray, idxs: np.ndarray) -> np.ndarray:
    """torchvision's batched_nms coordinate trick, in the boxes' dtype: boxes + idx * (max + 1)."""
    if not len(boxes):
        return boxes
    one = boxes.dtype.type(1)
    offset: np.ndarray = boxes + (idxs.astype(boxes.dtype) * (boxes.max() + one))[:, None]
    return offset


def mindspore_inputs(boxes: np.ndarray, scores: np.ndarray, idxs: np.ndarray | None, attrs: Attrs, port: Port) -> tuple[np.ndarray, float, np.ndarray | None]:
    """(bboxes [N, 5], threshold, order) for NMSWithMask; ``order`` maps mask positions to input
    indices (None: the note's ``output_idx[selected_mask]``).

    MAPPED: the migration note's call on the packed boxes (class offsets for batched).
    TRANSLATED: the boxes in torchvision's visiting order with distinct descending keys
    N, N-1, ..., 1 as scores (MindSpore's sort then leaves them in place), the threshold floored
    to the dtype, and the mask read through that order.
    """
    b = offset_boxes(boxes, idxs) if attrs.batched and idxs is not None else boxes
    if port is not Port.TRANSLATED:
        return np.column_stack([b, scores]).astype(boxes.dtype), attrs.iou_threshold, None
    order = stable_order(scores)
    keys = np.arange(len(b), 0, -1, dtype=np.float64)
    return np.column_stack([b[order], keys]).astype(boxes.dtype), floor_threshold(attrs.iou_threshold, str(boxes.dtype)), order


def torchvision_call(attrs: Attrs, port: Port) -> str:
    if attrs.batched:
        return f"torchvision.ops.batched_nms(boxes, scores, idxs, {attrs.iou_threshold:g})"
    return f"torchvision.ops.nms(boxes, scores, {attrs.iou_threshold:g})"


def mindspore_call(attrs: Attrs, port: Port) -> str:
    boxes = "offset_boxes(boxes, idxs)" if attrs.batched else "boxes"
    if port is Port.TRANSLATED:
        return (f"order = stable_descending_argsort(scores); _, _, mask = ops.NMSWithMask(floor_to_dtype({attrs.iou_threshold:g}))"
                f"(Tensor(concat({boxes}[order], [N, ..., 1]))); keep = order[mask]")
    return f"_, idx, mask = ops.NMSWithMask({attrs.iou_threshold:g})(Tensor(concat({boxes}, scores[:, None]))); keep = idx[mask]"


def onnxruntime_call(attrs: Attrs, port: Port) -> str:
    boxes = "offset_boxes(boxes, idxs)" if attrs.batched else "boxes"
    return (f"NonMaxSuppression(center_point_box=0)({boxes}[None], scores[None, None], max_output_boxes_per_class=N, "
            f"iou_threshold=float32({attrs.iou_threshold:g}))[:, 2]")


CALLS = {"torchvision": torchvision_call, "mindspore": mindspore_call, "onnxruntime": onnxruntime_call}

#: The mapping table (parity mapping --op nms): torchvision, MindSpore, note.
TABLE = (
    ("boxes [N, 4], scores [N]", "bboxes [N, 5] = concat(boxes, scores[:, None])", "one packed input (the note)"),
    ("iou_threshold (float, double)", "NMSWithMask(iou_threshold) (float32 attribute)", "compared in the input dtype: floor it to the dtype for torchvision's > t"),
    ("returns kept indices", "output_idx[selected_mask]", "output_idx is 0..N-1 over the SORTED boxes: read the mask through your own sort"),
    ("equal scores: ascending index (CPU stable sort)", "bitonic network order", "give MindSpore distinct keys in torchvision's order"),
    ("batched_nms(boxes, scores, idxs, t)", "NMSWithMask on boxes + idxs * (max + 1)", "the coordinate trick torchvision itself uses on CPU below 1000 boxes"),
    ("N = 0 returns []", "documented: raises ValueError", "measured: returns empty tensors, raises nothing"),
)

#: ONNX NonMaxSuppression (opset 11, a one-node model run by ONNX Runtime on CPU).
ONNX_TABLE = (
    ("boxes [N, 4], scores [N]", "boxes [1, N, 4], scores [1, 1, N]", "one batch, one class; center_point_box = 0"),
    ("iou_threshold (float, double)", "iou_threshold: tensor(float)", "compared as float32 (onnxruntime-nms-threshold-is-float32)"),
    ("(keeps every box it does not suppress)", "max_output_boxes_per_class = N, no score_threshold", "so that nothing else is dropped"),
    ("returns kept indices", "selected_indices[:, 2]", "rows are [batch, class, box]; decreasing score"),
    ("x1 < x2, y1 < y2", "any diagonal pair of corners", "normalised first (onnxruntime-nms-boxes-are-any-diagonal-corners)"),
    ("float16, float32, float64", "tensor(float) only", "float16 and float64 cases are UNSUPPORTED"),
    ("batched_nms(boxes, scores, idxs, t)", "the same call on boxes + idxs * (max + 1)", "one class per offset"),
)

#: paddle.vision.ops.nms on CPU.
PADDLE_TABLE = (
    ("nms(boxes, scores, iou_threshold)", "nms(boxes, iou_threshold, scores)", "argument order"),
    ("iou_threshold (float, double)", "iou_threshold (float32 attribute)", "paddle-nms-threshold-is-float32"),
    ("equal scores: ascending index", "paddle.argsort (not stable)", "paddle-nms-equal-scores-unstable-argsort"),
    ("batched_nms(boxes, scores, idxs, t)", "nms(boxes, t, scores, category_idxs=idxs, categories=sorted(set(idxs)))", "per category"),
    ("float16, float32, float64", "float32, float64", "float16 is not registered on CPU (UNSUPPORTED)"),
)

#: ``parity mapping --op nms``: torchvision's call against each framework's.
TABLES = (
    ("torchvision.ops.nms -> mindspore.ops.NMSWithMask", TABLE),
    ("torchvision.ops.nms -> onnx NonMaxSuppression (ONNX Runtime)", ONNX_TABLE),
    ("torchvision.ops.nms -> paddle.vision.ops.nms", PADDLE_TABLE),
)
