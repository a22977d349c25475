"""``paddle.vision.ops.nms`` on CPU, called as a torchvision user would port it.

``torchvision.ops.nms(boxes, scores, t)`` -> ``nms(boxes, iou_threshold=t, scores=scores)``;
``batched_nms(boxes, scores, idxs, t)`` -> ``nms(boxes, t, scores, category_idxs=idxs,
categories=sorted(set(idxs)))`` (top_k None: every kept box).  The result is the kept indices.

What Paddle documents (paddle/vision/ops.py, nms): boxes [N, 4] float32 or float64 as
[x1, y1, x2, y2] with ``0 <= x1 < x2 && 0 <= y1 < y2``, ``IoU = intersection / union``, boxes
with IoU > iou_threshold suppressed by the higher-scoring one, boxes sorted by score first,
batched results "concatenated and sorted by scores"; equal scores are left open.

Measured with paddlepaddle 3.3.1 (tests/test_nms_extra.py re-measures it): continuous widths (IoU
1/2 at t=0.5 kept); float16 is not registered on CPU (NotFound); N = 0 keeps nothing; an inverted
box is taken as given (as torchvision does); a NaN score sorts first (as torch's sort).
Departures declared in parity.ops.nms.divergences: the threshold is a float32 attribute (IoU 3/10
at t=0.3 kept, float64 boxes too), and equal scores are not visited by ascending index above 16
boxes (``paddle.argsort`` is not stable).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.frameworks.paddle import module as paddle_module, versions

__all__ = ["run", "versions"]

#: Box dtypes Paddle's nms documents (and registers on CPU).
SUPPORTED_DTYPES = ("float32", "float64")




def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with native("paddle"):
        paddle = paddle_module()
        from paddle.vision.ops import nms

    boxes, scores = arrays["boxes"], arrays["scores"]
    if boxes.dtype.kind == "f" and str(boxes.dtype) not in SUPPORTED_DTYPES:
        raise Unsupported(f"Paddle's nms takes float32/float64 boxes; this case is {boxes.dtype}")
    attrs = header["attrs"]
    if not len(scores):  # paddle.argsort of an empty tensor: nothing to sort, nothing kept
        return {"keep": np.zeros(0, np.int64)}
    with native("paddle"):
        extra: dict[str, Any] = {}
        if attrs["batched"]:
            idxs = arrays["idxs"]
            extra = {"category_idxs": paddle.to_tensor(idxs), "categories": sorted({int(i) for i in idxs.reshape(-1)})}
        keep = nms(paddle.to_tensor(boxes), float(attrs["iou_threshold"]), paddle.to_tensor(scores), **extra)
        return {"keep": keep.numpy().astype(np.int64).reshape(-1)}
