"""How a runner reacted to a case, in a few words: the robustness class every op shares.

Robustness cases (invalid input) are judged on this, not on numbers; an op's main output is
named ``out``.  A result without output gets its verdict from how the run ended
(:func:`failure_verdict`), the same for every op's judge.
"""
from __future__ import annotations

import numpy as np

from parity.engine.model import RunResult, Status, Verdict


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


_FAILURE_VERDICTS: dict[Status, Verdict] = {
    Status.ERROR: Verdict.ERROR,
    Status.CRASH: Verdict.CRASH,
    Status.TIMEOUT: Verdict.TIMEOUT,
    Status.UNSUPPORTED: Verdict.UNSUPPORTED,
}


def failure_verdict(status: Status) -> Verdict:
    """The verdict of a run that ended without output: raised (ERROR), died (CRASH), hung (TIMEOUT),
    or cannot express the case (UNSUPPORTED).  An op's judge decides first whether the failure is
    the right answer (an invalid input rejected) or a declared one; what is left gets this verdict."""
    try:
        return _FAILURE_VERDICTS[status]
    except KeyError:
        raise ValueError(f"a run with status {status.value!r} has output to judge; it has no failure verdict") from None
