"""The float64 reference as a worker runner: every semantics the header lists, with its bound.

A semantics whose domain the input lies outside gives ``KEY.undefined`` (the reason) instead of a
result, and leaves the others standing; only when no semantics has a result is the case
undefined as a whole (Unsupported, which the judge reads as "undefined for everyone").
"""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import InvalidInput, Unsupported
from parity.ops.box_iou.reference import Semantics, evaluate

BOUND = ".bound"
UNDEFINED = ".undefined"


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    outputs: dict[str, np.ndarray] = {}
    reasons = []
    for fields in header["semantics"]:
        sem = Semantics(**fields)
        try:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                outputs[sem.key], outputs[sem.key + BOUND] = evaluate(arrays, sem)
        except InvalidInput as exc:  # undefined under this semantics: a fact about the input
            outputs[sem.key + UNDEFINED] = np.array(str(exc))
            reasons.append(str(exc))
    if reasons and len(reasons) == len(header["semantics"]):
        raise Unsupported(reasons[0])
    return outputs
