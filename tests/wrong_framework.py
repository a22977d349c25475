"""A stand-in 'mindspore' that is wrong on purpose: rois wider than 3 pixels get +1% in channel 0."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.ops.roi_align import reference
from parity.ops.roi_align.mapping import mindspore_semantics, to_mindspore
from parity.engine.model import Port
from parity.ops.roi_align.attrs import Attrs


def versions() -> dict[str, str]:
    return {"wrong": "1"}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    attrs = Attrs.from_json(header["attrs"])
    sem = mindspore_semantics(to_mindspore(attrs, Port(header["port"])))
    x, rois = arrays["features"], arrays["rois"]
    out = reference.roi_align(x, rois, attrs.output_size, attrs.spatial_scale, sem.sampling_ratio, sem.convention)
    wide = (rois[:, 3] - rois[:, 1]) * attrs.spatial_scale > 3
    out[wide, 0] *= 1.01
    return {"out": out.astype(x.dtype)}
