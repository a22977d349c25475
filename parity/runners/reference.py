"""The float64 reference, evaluated under every semantics the driver asks for."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity import reference
from parity.compare import rounding_bound
from parity.model import Attrs


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each requested semantics gives ``NAME`` (the result), ``NAME_bound`` (its rounding bound) and
    ``NAME_geom`` (the result with sampling positions computed in the case's dtype)."""
    attrs = Attrs.from_json(header["attrs"])
    dtype = str(arrays["features"].dtype)
    features = arrays["features"].astype(np.float64)
    rois = arrays["rois"].astype(np.float64)
    outputs = {}
    for sem in header["semantics"]:
        args = (rois, attrs.output_size, attrs.spatial_scale, sem["sampling_ratio"], reference.Convention(**sem["convention"]))
        outputs[sem["name"]] = reference.roi_align(features, *args)
        outputs[sem["name"] + "_bound"] = rounding_bound(features, *args, dtype=dtype)
        outputs[sem["name"] + "_geom"] = reference.roi_align(features, *args, geometry_dtype=dtype)
    return outputs
