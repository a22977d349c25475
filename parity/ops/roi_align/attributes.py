"""The names a case filter may use for roi_align cases (parity.engine.case_filter), beyond every op's."""
from __future__ import annotations

from typing import Any, Callable

from parity.engine.model import Case

FILTER_ATTRIBUTES: dict[str, Callable[[Case], Any]] = {
    "aligned": lambda c: c.attrs.aligned,
    "sampling_ratio": lambda c: c.attrs.sampling_ratio,
    "spatial_scale": lambda c: c.attrs.spatial_scale,
    "output_size": lambda c: tuple(c.attrs.output_size),
    "pooled_height": lambda c: c.attrs.output_size[0],
    "pooled_width": lambda c: c.attrs.output_size[1],
    "rois": lambda c: int(c.rois.shape[0]),
}
