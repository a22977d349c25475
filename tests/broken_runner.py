"""A runner whose own mapping code is broken: it raises before it ever calls the framework."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import native


def versions() -> dict[str, str]:
    return {"broken": "1"}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    pooled = header["attrs"]["pooled_height"]  # a mapping bug: torchvision attrs have no such key
    with native("broken"):
        return {"out": np.zeros(pooled)}
