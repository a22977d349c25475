"""The ``invalid`` suite: inputs outside RoIAlign's domain, to record how each framework reacts.

Migration users need to know this: a framework that raises where the other silently returns
numbers (or dies) is itself a parity difference.  Each case is tagged ``invalid`` and judged on
behaviour (raises / returns output / crashes / hangs), see parity.ops.roi_align.judge.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from numpy.typing import ArrayLike

from parity.engine.seeds import seed_of
from parity.engine.model import Case
from parity.ops.roi_align.attrs import Attrs

N, C, H, W = 2, 3, 8, 10
GOOD_ROIS = [[0, 1, 1, 6, 5], [1, 2, 0.5, 9, 7]]


def _case(name: str, attrs: Attrs | None = None, rois: ArrayLike | None = None, features: ArrayLike | None = None, layout: str = "contiguous") -> Case:
    attrs = attrs or Attrs((2, 2), 1.0, 2, False)
    case_id = f"roi_align[invalid]-{name}"
    rng = np.random.default_rng(seed_of(case_id))
    if features is None:
        features = rng.standard_normal((N, C, H, W)).astype(np.float32)
    if rois is None:
        rois = np.array(GOOD_ROIS, np.float32)
    return Case(case_id, "invalid", attrs, {"features": np.asarray(features), "rois": np.asarray(rois)}, tags=("invalid", name), layout=layout)


def _rois(**changes: float) -> np.ndarray:
    """The good rois with one value replaced, e.g. ``_rois(b=9)`` or ``_rois(x2=np.nan)``."""
    r = np.array(GOOD_ROIS, np.float32)
    column = {"b": 0, "x1": 1, "y1": 2, "x2": 3, "y2": 4}
    for key, value in changes.items():
        r[0, column[key]] = value
    return r


def invalid_cases() -> Iterator[Case]:
    """One case per kind of bad input, each differing from a valid call in one respect."""
    yield _case("batch-index-out-of-range", rois=_rois(b=N))
    yield _case("batch-index-huge", rois=_rois(b=1e9))
    yield _case("batch-index-negative", rois=_rois(b=-1))
    yield _case("batch-index-fractional", rois=_rois(b=0.7))
    yield _case("batch-index-nan", rois=_rois(b=np.nan))
    yield _case("coordinate-nan", rois=_rois(x2=np.nan))
    yield _case("coordinate-inf", rois=_rois(y2=np.inf))
    yield _case("coordinate-huge", rois=_rois(x2=1e30))
    yield _case("rois-4-columns", rois=np.array(GOOD_ROIS, np.float32)[:, 1:])
    yield _case("rois-6-columns", rois=np.pad(np.array(GOOD_ROIS, np.float32), ((0, 0), (0, 1))))
    yield _case("rois-1d", rois=np.array(GOOD_ROIS[0], np.float32))
    yield _case("rois-empty", rois=np.zeros((0, 5), np.float32))
    rng = np.random.default_rng(seed_of("invalid-features"))
    yield _case("features-3d", features=rng.standard_normal((C, H, W)).astype(np.float32))
    yield _case("features-5d", features=rng.standard_normal((N, C, 1, H, W)).astype(np.float32))
    yield _case("dtype-mismatch", rois=np.array(GOOD_ROIS, np.float64))
    yield _case("integer-features", features=rng.integers(-5, 5, (N, C, H, W)).astype(np.int32), rois=np.array(GOOD_ROIS, np.int32))
    yield _case("output-size-zero", attrs=Attrs((0, 2), 1.0, 2, False))
    yield _case("output-size-negative", attrs=Attrs((-2, 2), 1.0, 2, False))
    yield _case("spatial-scale-zero", attrs=Attrs((2, 2), 0.0, 2, False))
    yield _case("spatial-scale-negative", attrs=Attrs((2, 2), -0.5, 2, False))
    yield _case("spatial-scale-huge", attrs=Attrs((2, 2), 1e30, 2, False))
    yield _case("sampling-ratio-huge", attrs=Attrs((2, 2), 1.0, 2000, False))
    yield _case("non-contiguous", layout="non-contiguous")
