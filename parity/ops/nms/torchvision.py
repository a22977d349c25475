"""torchvision.ops.nms / batched_nms, called as a torchvision user would (CPU)."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.frameworks.torchvision import versions

__all__ = ["run", "versions"]


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import torch
    from torchvision.ops import batched_nms, nms

    if arrays["boxes"].dtype == np.float16:
        raise Unsupported("torchvision's CPU nms has no float16 kernel (measured: 'nms_kernel' not implemented for 'Half')")
    attrs = header["attrs"]
    boxes, scores = torch.from_numpy(arrays["boxes"]), torch.from_numpy(arrays["scores"])
    with native("torchvision"):
        if attrs["batched"]:
            keep = batched_nms(boxes, scores, torch.from_numpy(arrays["idxs"]), float(attrs["iou_threshold"]))
        else:
            keep = nms(boxes, scores, float(attrs["iou_threshold"]))
        return {"keep": keep.numpy().astype(np.int64)}
