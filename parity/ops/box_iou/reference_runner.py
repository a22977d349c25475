"""The float64 reference as a worker runner: every semantics the header lists, with its bound."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.ops.box_iou.reference import Semantics, evaluate

BOUND = ".bound"


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    outputs = {}
    for fields in header["semantics"]:
        sem = Semantics(**fields)
        outputs[sem.key], outputs[sem.key + BOUND] = evaluate(arrays, sem)
    return outputs
