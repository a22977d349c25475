"""Where each framework's documentation defines box_iou: outside it the reference has no result
under that framework's documented semantics, and the framework is judged on how it reacts.

torchvision (``torchvision.ops.box_iou``): ``boxes1 [..., N, 4]``, ``boxes2 [..., M, 4]`` in
(x1, y1, x2, y2) with ``0 <= x1 < x2`` and ``0 <= y1 < y2``; no dtype is named, so any one real
dtype (integers too) is inside, mixing two is not.  MindSpore (``mindspore.ops.iou``):
``anchor_boxes [N, 4]`` and ``gt_boxes [M, 4]`` of float16, float32 or float64, ``mode`` "iou"
or "iof" (KeyError otherwise); it names no coordinate range, but its formula (overlap / union,
overlap / gt area) needs boxes with an extent, ``x0 < x1`` and ``y0 < y1``, and finite corners.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

MINDSPORE_DTYPES = ("float16", "float32", "float64")
MODES = ("iou", "iof")


def _shape(name: str, b: np.ndarray, batched: bool) -> str | None:
    if b.ndim < 2 or (not batched and b.ndim != 2):
        want = "[..., K, 4]" if batched else "[K, 4]"
        return f"{name} has shape {tuple(b.shape)}; the documented shape is {want}"
    if b.shape[-1] != 4:
        return f"{name} has {b.shape[-1]} coordinates per box; the documented form is (x1, y1, x2, y2)"
    return None


def _coordinates(name: str, b: np.ndarray, nonnegative: bool) -> str | None:
    v = b.astype(np.float64)
    if not np.isfinite(v).all():
        return f"{name} has a non-finite coordinate"
    if nonnegative and (v < 0).any():
        return f"{name} has a negative coordinate; the documented domain is 0 <= x1 < x2, 0 <= y1 < y2"
    if (v[..., 0] >= v[..., 2]).any() or (v[..., 1] >= v[..., 3]).any():
        return f"{name} has a box with x1 >= x2 or y1 >= y2 (degenerate or inverted); the documented boxes have x1 < x2, y1 < y2"
    return None


def problem(inputs: Mapping[str, np.ndarray], framework: str, mode: str = "iou") -> str | None:
    """Why ``inputs`` lie outside ``framework``'s documented box_iou (None: inside)."""
    b1, b2 = np.asarray(inputs["boxes1"]), np.asarray(inputs["boxes2"])
    torchvision = framework == "torchvision"
    if not torchvision and mode not in MODES:
        return f"mode {mode!r}: the documented modes are 'iou' and 'iof'"
    for name, b in (("boxes1", b1), ("boxes2", b2)):
        reason = _shape(name, b, batched=torchvision)
        if reason:
            return reason
    if torchvision and b1.shape[:-2] != b2.shape[:-2]:
        return f"leading dimensions {b1.shape[:-2]} and {b2.shape[:-2]} differ"
    if b1.dtype != b2.dtype:
        return f"boxes of two dtypes ({b1.dtype}, {b2.dtype}): no result dtype is documented for a mix"
    kind_ok = b1.dtype.kind in "fiu" if torchvision else str(b1.dtype) in MINDSPORE_DTYPES
    if not kind_ok:
        return f"dtype {b1.dtype}: {'a real dtype' if torchvision else ', '.join(MINDSPORE_DTYPES)} is documented"
    for name, b in (("boxes1", b1), ("boxes2", b2)):
        reason = _coordinates(name, b, nonnegative=torchvision)
        if reason:
            return reason
    return None
