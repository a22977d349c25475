"""ONNX ``NonMaxSuppression`` (opset 11) run by ONNX Runtime on CPU: a one-node model built in memory.

The call a porting user makes for ``torchvision.ops.nms(boxes, scores, t)``: ``boxes [1, N, 4]``,
``scores [1, 1, N]`` (one batch, one class), ``max_output_boxes_per_class = N`` (int64),
``iou_threshold = t`` (float), no ``score_threshold``, ``center_point_box = 0``; the kept indices
are ``selected_indices[:, 2]``.  The spec's [y1, x1, y2, x2] order is not needed: IoU is the same
with x and y swapped, so torchvision's [x1, y1, x2, y2] rows go in as they are.  batched_nms: the
same on boxes offset per class by idx * (max + 1) (torchvision's own trick; the class axis of
``scores`` would select each box once per class).

What the spec documents (onnx.defs, NonMaxSuppression): IoU strictly greater than iou_threshold
suppresses, boxes are any diagonal corner pair, ``boxes``, ``scores`` and ``iou_threshold`` are
tensor(float) only, iou_threshold in [0, 1]; the output is described as a set of indices.

Measured with onnxruntime 1.32.0 (tests/test_nms_extra.py re-measures it): selected_indices come
in decreasing score, equal scores by ascending index; IoU 3/10 at t=0.3 in float32 is kept
(float32(0.3) == float32(3/10)); an inverted box [10, 10, 0, 0] is normalised; float16 and
float64 models are rejected at load (``Type Error: Type 'tensor(float16)'``: the spec's float
only); iou_threshold outside [0, 1] raises (``iou_threshold must be in range [0, 1]``); N = 0
returns no indices.  Departure found (declared: onnxruntime-nms-nan-score-heap-order): boxes are
visited from a std::priority_queue, where a NaN score compares false both ways, so NaN boxes are
not visited first (as torch sorts them) but where the heap leaves them: boxes [0,0,10,10],
[1,1,11,11], [30,30,40,40] with scores [nan, 0.8, 0.9] keep [2, 1] where NaN first keeps [0, 2].
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.frameworks.onnxruntime import session, versions
from parity.ops.nms.signature import offset_boxes

__all__ = ["run", "versions"]

#: The spec's boxes/scores type (tensor(float) only).
SUPPORTED_DTYPES = ("float32",)


@lru_cache(maxsize=1)
def _session() -> Any:
    """The one-node NonMaxSuppression session (dynamic N)."""
    from onnx import TensorProto, helper

    node = helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_output", "iou_threshold"], ["selected"], center_point_box=0)
    graph = helper.make_graph(
        [node],
        "nms",
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, "n", 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, "n"]),
            helper.make_tensor_value_info("max_output", TensorProto.INT64, []),
            helper.make_tensor_value_info("iou_threshold", TensorProto.FLOAT, []),
        ],
        [helper.make_tensor_value_info("selected", TensorProto.INT64, ["k", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 8
    return session(model)


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    boxes, scores = arrays["boxes"], arrays["scores"]
    if boxes.dtype.kind == "f" and str(boxes.dtype) not in SUPPORTED_DTYPES:
        raise Unsupported(f"ONNX NonMaxSuppression takes tensor(float) only; this case is {boxes.dtype}")
    attrs = header["attrs"]
    if attrs["batched"]:
        if arrays["idxs"].shape != scores.shape or boxes.ndim != 2:
            raise Unsupported(f"idxs {arrays['idxs'].shape} for boxes {boxes.shape}: no per-class offset to make")
        boxes = offset_boxes(boxes, arrays["idxs"])
    # malformed shapes and types go to ONNX Runtime as they are, for it to reject
    feeds = {
        "boxes": np.ascontiguousarray(boxes[None]),
        "scores": np.ascontiguousarray(scores[None, None]),
        "max_output": np.array(len(scores), np.int64),
        "iou_threshold": np.array(attrs["iou_threshold"], np.float32),
    }
    with native("onnxruntime"):
        selected = _session().run(None, feeds)[0]
    return {"keep": selected[:, 2].astype(np.int64)}
