"""The float64 reference as a worker runner: every semantics the header lists."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from parity.ops.nms.reference import Semantics, batched_boxes, nms

#: The reference's outputs per semantics: ``KEY.keep`` and these.
FIELDS = ("keep", "suppressor", "suppressor_iou", "near", "order")


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray], kernel: ModuleType | None = None) -> dict[str, np.ndarray]:
    """Every semantics in ``header``; ``kernel`` replaces the reference module (mutation testing)."""
    nms_of = kernel.nms if kernel is not None else nms
    boxes, scores = arrays["boxes"], arrays["scores"]
    dtype = str(boxes.dtype)
    coord_error = 0.0
    if header["attrs"]["batched"]:
        boxes, coord_error = batched_boxes(boxes, arrays["idxs"], dtype)
    outputs = {}
    for fields in header["semantics"]:
        sem = Semantics(**fields)
        result = nms_of(boxes, scores, float(header["attrs"]["iou_threshold"]), sem, dtype, coord_error)
        outputs.update({f"{sem.key}.{k}": v for k, v in result.items()})
    return outputs
