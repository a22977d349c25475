"""A runner that does nothing: ``parity bench`` times the worker protocol's per-case cost with it."""
from __future__ import annotations

from typing import Any

import numpy as np


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"out": arrays["features"]}
