"""How a runner reacted to a case, in a few words: the robustness class every op shares.

Robustness cases (invalid input) are judged on this, not on numbers; an op's main output is
named ``out``.
"""
from __future__ import annotations

import numpy as np

from parity.engine.model import RunResult, Status


def behaviour(result: RunResult) -> str:
    """The robustness class of a result: raises, crash, hang, or output (finite / with NaN or Inf)."""
    if result.status in (Status.ERROR, Status.UNSUPPORTED):
        return "raises"
    if result.status is Status.CRASH:
        return "crash"
    if result.status is Status.TIMEOUT:
        return "hang"
    out = result.outputs.get("out")
    finite = out is None or out.dtype.kind != "f" or bool(np.isfinite(out).all())
    return "output" if finite else "output with NaN/Inf"


def describe_behaviour(result: RunResult) -> str:
    b = behaviour(result)
    return f"{b}: {result.message}" if result.message else b
