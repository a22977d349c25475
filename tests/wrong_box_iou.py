"""A stand-in 'mindspore' for box_iou that is wrong on purpose: torchvision's formula, plus 1%."""
from __future__ import annotations

from typing import Any

import numpy as np


def versions() -> dict[str, str]:
    return {"wrong": "1"}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    a, b = arrays["boxes1"].astype(np.float64), arrays["boxes2"].astype(np.float64)
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    out = inter / (area(a)[:, None] + area(b)[None, :] - inter) * 1.01
    return {"out": out.astype(arrays["boxes1"].dtype)}
