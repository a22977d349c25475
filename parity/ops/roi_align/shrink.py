"""Shrink a failing case to a minimal one that still fails, and keep it as a regression fixture.

Greedy, like property-based testing's shrinking: try smaller variants (one roi, one channel,
only the images the rois use, a 1x1 output) and keep any that still fails, until none does.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from parity.ops.roi_align import fixtures
from parity.engine import regressions
from parity.engine.model import Case
from parity.ops.roi_align.attrs import Attrs

MAX_TRIES = 200


def _variants(case: Case) -> Iterator[Case]:
    rois, x = case.rois, case.features
    if rois.ndim == 2 and len(rois) > 1:
        for i in range(len(rois)):
            yield case.with_inputs(rois=rois[i : i + 1])
        yield case.with_inputs(rois=rois[: len(rois) // 2])
    if x.ndim == 4 and x.shape[1] > 1:
        for c in range(x.shape[1]):
            yield case.with_inputs(features=x[:, c : c + 1].copy())
    if x.ndim == 4 and rois.ndim == 2 and rois.shape[1] == 5 and x.shape[0] > 1 and np.isfinite(rois[:, 0]).all():
        used = np.unique(np.trunc(rois[:, 0].astype(np.float64)).astype(int))
        if len(used) < x.shape[0] and used.min() >= 0 and used.max() < x.shape[0]:
            remap = {int(b): i for i, b in enumerate(used)}
            new_rois = rois.copy()
            new_rois[:, 0] = [remap[int(np.trunc(b))] + (b - np.trunc(b)) for b in rois[:, 0].astype(np.float64)]
            yield case.with_inputs(features=x[used].copy(), rois=new_rois.astype(rois.dtype))
    if case.attrs.output_size != (1, 1):
        a = case.attrs
        yield dataclasses.replace(case, attrs=Attrs((1, 1), a.spatial_scale, a.sampling_ratio, a.aligned))
        half = (max(1, a.output_size[0] // 2), max(1, a.output_size[1] // 2))
        yield dataclasses.replace(case, attrs=Attrs(half, a.spatial_scale, a.sampling_ratio, a.aligned))


def shrink(case: Case, fails: Callable[[Case], bool]) -> Case:
    """The smallest variant of ``case`` found for which ``fails`` still holds."""
    return regressions.shrink_greedily(case, fails, _variants, MAX_TRIES)


def save_regression(case: Case, folder: Path) -> None:
    """Add ``case`` to the fixture folder ``folder`` (created if needed) so it replays forever."""
    existing = fixtures.load(folder) if (folder / fixtures.MANIFEST).exists() else []
    kept = [c for c in existing if c.id != case.id]
    fixtures.save([*kept, case], folder, "regressions")
