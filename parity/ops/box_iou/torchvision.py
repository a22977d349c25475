"""torchvision.ops.box_iou, called as a torchvision user would (CPU)."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.frameworks.torchvision import versions

__all__ = ["run", "versions"]


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import torch
    from torchvision.ops import box_iou

    if header["attrs"]["mode"] != "iou":
        raise Unsupported("torchvision's box_iou computes IoU only (no iof mode)")
    with native("torchvision"):
        out = box_iou(torch.from_numpy(arrays["boxes1"]), torch.from_numpy(arrays["boxes2"]))
        return {"out": out.numpy()}
