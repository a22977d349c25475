"""Shrink a failing box_iou case to a minimal one that still fails (kept as a regression fixture).

Greedy, like property-based testing's shrinking: try one box of each set, then half of a set,
then coordinates rounded to integers, and keep any variant that still fails, until none does.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from parity.engine import regressions
from parity.engine.model import Case

MAX_TRIES = 200


def _variants(case: Case) -> Iterator[Case]:
    for name in ("boxes1", "boxes2"):
        b = np.asarray(case.inputs[name])
        if b.ndim == 2 and len(b) > 1:
            for i in range(len(b)):
                yield case.with_inputs(**{name: b[i : i + 1].copy()})
            yield case.with_inputs(**{name: b[: len(b) // 2].copy()})
    for name in ("boxes1", "boxes2"):
        b = np.asarray(case.inputs[name])
        if b.dtype.kind == "f" and np.isfinite(b).all() and not np.array_equal(b, np.round(b)):
            yield case.with_inputs(**{name: np.round(b).astype(b.dtype)})


def shrink(case: Case, fails: Callable[[Case], bool]) -> Case:
    """The smallest variant of ``case`` found for which ``fails`` still holds."""
    return regressions.shrink_greedily(case, fails, _variants, MAX_TRIES)
