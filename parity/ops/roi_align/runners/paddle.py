"""``paddle.vision.ops.roi_align`` on CPU, under the call parity.ops.roi_align.mapping.to_paddle derives.

Paddle takes ``boxes [K, 4]`` plus ``boxes_num [N]`` (int32 boxes per image), not a batch index
per roi, so the boxes must be grouped per image in batch order.  The runner groups the ``[K, 5]``
rois by their batch index (truncated toward zero, as torchvision's C cast does), stably, runs
Paddle on the grouped boxes and puts the output rows back in the case's roi order.  A batch
index outside ``[0, N)`` (or NaN) has no Paddle form: Unsupported, even for robustness cases.
With a ``grad_weight`` array it also returns the gradient of ``sum(W * out)`` w.r.t. the features.

Semantics measured with paddlepaddle 3.3.1 (CPU, float32 2x3x10x12 map, output 3x4, spatial
scale 0.5, sampling_ratio 2/1/0/-1, 8 rois each normal / smaller than a pixel / inverted /
crossing the border, both ``aligned``; tests/test_runners_extra.py re-measures it): max
|Paddle - reference| <= 1.6e-6 under the torchvision conventions (aligned=False clamps the roi
size to >= 1, aligned=True does not; adaptive grid ``ceil(size / output)``), as documented,
except for what parity.ops.roi_align.divergences declares:
- paddle-adaptive-empty-grid-nan: no ``max(count, 1)`` guard, so with aligned=True and adaptive
  sampling an empty grid (roi size in (-output, 0]) gives 0/0 = NaN where torchvision gives 0;
- paddle-negative-adaptive-grid-abort: a negative adaptive grid side (roi inverted by at least
  the output size) aborts the process (SIGABRT: ``std::bad_alloc`` / ``vector::reserve``);
- paddle-backward-clamps-aligned-roi-size: the gradient clamps the roi size to >= 1 even with
  aligned=True (3.4 off the reference's gradient; 1.7e-6 with the clamp);
- paddle-outside-samples-read-origin: as in torchvision and ONNX Runtime, an out-of-image sample
  reads pixel (0, 0) with weight 0, so a NaN there reaches every bin with such a sample.
Not declarable with the present reference (reported as MISMATCH where a suite reaches them):
- ``spatial_scale`` is kept as a float32 attribute: 3.1e-6 off the float64 reference at s=0.3
  with float64 inputs (nothing at dyadic scales);
- a sample exactly on the image border (x == W in exact arithmetic) is rounded inside, where the
  reference's float64 and float32 positions fall just outside: edge case adaptive-extremes
  (14x14, roi -20..60), 9 of 1764 elements off by up to 0.17.

Argument checks observed (paddlepaddle 3.3.1, CPU):
- dtypes: float32 and float64; float16 is not registered on CPU (NotFound); int32 features run
  (an integer roi_align); boxes must have x's dtype; boxes_num int32 or int64.
- boxes_num of the wrong length raises (``The batch size of rois and the batch size of images
  must be the same``); a boxes_num whose sum is not K (or negative counts) is *not* checked.
- rank of x != 4, boxes not [K, 4]: raise; output size <= 0 and spatial_scale <= 0: raise.
- NaN / Inf / 1e30 roi coordinates are not rejected: finite output (0 for Inf and 1e30).
- sampling_ratio 2000 runs; strided (non-contiguous) x tensors give the same result.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.ops.roi_align.mapping import PaddleCall, to_paddle
from parity.engine.model import Port
from parity.ops.roi_align.attrs import Attrs
from parity.frameworks.paddle import module as paddle_module, versions

__all__ = ["run", "versions"]

#: Feature dtypes Paddle's CPU roi_align documents (and registers, besides int32).
SUPPORTED_DTYPES = ("float32", "float64")


def group_by_image(rois: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[K, 5]`` rois -> (boxes ``[K, 4]`` grouped per image, boxes_num ``[N]`` int32, order).

    ``order`` lists the original roi of each grouped box: ``out[np.argsort(order)]`` restores
    the case's roi order.
    """
    index = rois[:, 0]
    if index.dtype.kind == "f" and not np.isfinite(index).all():
        raise Unsupported("a non-finite batch index has no Paddle form (boxes_num counts boxes per image)")
    image = np.trunc(index.astype(np.float64)).astype(np.int64)
    if len(image) and (image.min() < 0 or image.max() >= batch):
        raise Unsupported(f"batch index outside [0, {batch}) has no Paddle form (boxes_num counts boxes per image)")
    order = np.argsort(image, kind="stable")
    boxes = np.ascontiguousarray(rois[order, 1:])
    return boxes, np.bincount(image, minlength=batch).astype(np.int32), order


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with native("paddle"):
        paddle = paddle_module()
        from paddle.vision.ops import roi_align

    features, rois = arrays["features"], arrays["rois"]
    if not header.get("raw") and str(features.dtype) not in SUPPORTED_DTYPES:
        raise Unsupported(f"Paddle roi_align on CPU takes float32/float64; this case is {features.dtype}")
    if "paddle_call" in header:  # an explicit call, not the mapped one
        c = header["paddle_call"]
        call = PaddleCall(tuple(c["output_size"]), c["spatial_scale"], c["sampling_ratio"], c["aligned"])
    else:
        call = to_paddle(Attrs.from_json(header["attrs"]), Port(header["port"]))
    if rois.ndim == 2 and rois.shape[1] == 5 and features.ndim >= 1:
        boxes, boxes_num, order = group_by_image(rois, features.shape[0])
    else:  # raw: malformed rois go to Paddle as they are (all on image 0), for Paddle to reject
        boxes, order = rois[..., 1:], None
        boxes_num = np.zeros(max(features.shape[:1] or (1,)), np.int32)
        boxes_num[0] = len(boxes) if boxes.ndim else 0
    with native("paddle"):
        leaf = paddle.to_tensor(features, stop_gradient="grad_weight" not in arrays)
        x = leaf
        if header.get("layout") == "non-contiguous":  # same values, strided memory
            x = paddle.repeat_interleave(leaf, 2, axis=-1)[..., ::2]
        out = roi_align(
            x, paddle.to_tensor(boxes), paddle.to_tensor(boxes_num), call.output_size, call.spatial_scale,
            call.sampling_ratio, call.aligned,
        )
        values = out.numpy()
    restore = None if order is None else np.argsort(order)
    result = {"out": values if restore is None else values[restore]}
    if "grad_weight" in arrays:  # d sum(W * out) / d features, W given in the case's roi order
        weight = arrays["grad_weight"] if order is None else arrays["grad_weight"][order]
        with native("paddle"):
            (out * paddle.to_tensor(weight)).sum().backward()
            result["grad"] = leaf.grad.numpy()
    return result
