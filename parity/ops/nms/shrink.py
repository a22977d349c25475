"""Shrinking a failing nms case: drop boxes while the failure persists, so what is reported is the
few boxes whose interaction causes it."""
from __future__ import annotations

from typing import Callable

import numpy as np

from parity.engine import regressions
from parity.engine.model import Case

#: Give up after this many attempts (each runs every framework on the candidate).
MAX_TRIES = 60


def _subset(case: Case, keep: np.ndarray) -> Case:
    return case.with_inputs(**{name: np.ascontiguousarray(a[keep]) for name, a in case.inputs.items()})


def shrink(case: Case, fails: Callable[[Case], bool]) -> Case:
    """Delta debugging over boxes: remove halves, then quarters, ... then single boxes."""
    original, n = case, len(case.scores)
    tries, chunk = 0, max(1, n // 2)
    while chunk >= 1 and n > 1 and tries < MAX_TRIES:
        removed = False
        for start in range(0, n, chunk):
            keep = np.r_[0:start, min(n, start + chunk):n]
            if len(keep) == 0 or len(keep) == n:
                continue
            tries += 1
            candidate = _subset(case, keep)
            if fails(candidate):
                case, n, removed = candidate, len(keep), True
                break
            if tries >= MAX_TRIES:
                break
        if not removed:
            chunk //= 2
    return regressions.as_regression(original, case)
