"""Shrink a failing box_iou case to a minimal one that still fails (kept as a regression fixture).

Greedy, like property-based testing's shrinking: try one box of each set, then half of a set,
then coordinates rounded to integers, and keep any variant that still fails, until none does.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import numpy as np

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
    current, tries, improved = case, 0, True
    while improved and tries < MAX_TRIES:
        improved = False
        for candidate in _variants(current):
            tries += 1
            if fails(candidate):
                current, improved = candidate, True
                break
    # a robustness case stays one (Case.invalid): replayed as a valid case it would be judged on numbers
    suite = "invalid" if case.invalid else "regressions"
    return dataclasses.replace(current, id=f"{case.id}-shrunk", suite=suite, tags=(*case.tags, "shrunk"))
