"""The exact MindSpore equivalent of torchvision's nms / batched_nms, verified on the reference.

NMSWithMask differs from torchvision in three declared ways (parity.ops.nms.divergences): its
output_idx is positions in its own sort, its sort orders equal scores by a bitonic network, and it
compares IoU with the threshold rounded to the dtype.  The translation removes all three: visit the
boxes in torchvision's order yourself, give MindSpore distinct descending keys N, ..., 1 as scores
(its sort then keeps that order: exact for N <= 2048 in float16, 2**24 in float32), floor the
threshold to the dtype (for an IoU on the dtype's grid, IoU > floor(t) is IoU > t), and read the
mask through your order.  batched_nms: the same on boxes offset per class by idx * (max + 1), as
torchvision's CPU batched_nms itself does below 1000 boxes.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from parity.engine.model import Port
from parity.ops.nms import semantics
from parity.ops.nms.reference import nms
from parity.ops.nms.signature import Attrs, mindspore_call, mindspore_inputs, torchvision_call
from parity.ops.nms.suites import case, detector_boxes

CODE = '''import numpy as np, mindspore as ms
from mindspore import ops

def nms(boxes, scores, iou_threshold):            # boxes [N, 4], scores [N]: float16 or float32 numpy
    if len(scores) == 0:
        return np.zeros(0, np.int64)              # NMSWithMask documents a ValueError on N = 0
    s = scores.astype(np.float64)
    order = np.lexsort((np.arange(len(s)), -np.where(np.isnan(s), np.inf, s), -np.isnan(s).astype(np.int8)))  # torch's stable sort
    keys = np.arange(len(s), 0, -1)               # distinct scores, already descending
    t = np.asarray(iou_threshold, boxes.dtype)
    if float(t) > iou_threshold:
        t = np.nextafter(t, np.asarray(-np.inf, boxes.dtype))   # floor the threshold to the dtype
    bboxes = np.column_stack([boxes[order], keys]).astype(boxes.dtype)
    _, _, mask = ops.NMSWithMask(float(t))(ms.Tensor(bboxes))
    return order[mask.asnumpy()]

def batched_nms(boxes, scores, idxs, iou_threshold):
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    offsets = idxs.astype(boxes.dtype) * (boxes.max() + boxes.dtype.type(1))
    return nms(boxes + offsets[:, None], scores, iou_threshold)'''


def check(boxes: np.ndarray, scores: np.ndarray, threshold: float, dtype: str) -> bool:
    """Whether the translated call, with MindSpore's kernel as the divergences declare it (run by
    the reference), keeps exactly torchvision's documented list on these boxes."""
    c = case("translate-check", "translate", Attrs(threshold), boxes, scores, dtype, Port.MAPPED, ())
    kernel = semantics.predicted("mindspore", c)[-1][1]  # every declared divergence together
    bboxes, t, order = mindspore_inputs(c.inputs["boxes"], c.scores, None, Attrs(threshold), Port.TRANSLATED)
    assert order is not None  # the translated call always reads the mask through torchvision's order
    got = order[nms(bboxes[:, :4], bboxes[:, 4], t, dataclasses.replace(kernel, threshold="exact"), dtype)["keep"]]
    want = nms(c.inputs["boxes"], c.scores, threshold, semantics.documented("torchvision", c), dtype)["keep"]
    return bool(np.array_equal(got, want))


def render() -> tuple[str, bool]:
    """The translation as text, and whether it was verified exact on sample boxes (with ties and
    thresholds that are not representable)."""
    rng = np.random.default_rng(0)
    results = []
    for k in range(24):
        n = int(rng.integers(2, 80))
        scores = rng.uniform(0, 1, n)
        if k % 2:
            scores = np.round(scores, 1)  # ties
        dtype = ("float16", "float32")[k % 3 == 0]
        results.append(check(detector_boxes(rng, n), scores, (0.3, 0.5, 0.7, 0.45)[k % 4], dtype))
    results.append(check(np.array([[0, 0, 10, 1], [0, 0, 3, 1]]), np.array([0.9, 0.8]), 0.3, "float32"))
    exact = all(results)
    lines = [
        f"torchvision:  {torchvision_call(Attrs(), Port.MAPPED)}",
        f"note:         {mindspore_call(Attrs(), Port.MAPPED)}",
        "              # idx is 0..N-1 over the sorted boxes, ties in bitonic order, threshold rounded to the dtype",
        f"exact:        {mindspore_call(Attrs(), Port.TRANSLATED)}",
        f"batched_nms:  {mindspore_call(Attrs(batched=True), Port.TRANSLATED)}",
        "",
        CODE,
        "",
        f"verified:     {sum(results)} / {len(results)} sample sets (float16 and float32, with ties, thresholds 0.3 0.45 0.5 0.7) "
        "keep exactly torchvision's list (MindSpore's kernel as declared, in float64)",
    ]
    return "\n".join(lines), exact
