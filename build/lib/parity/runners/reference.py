"""The float64 reference, evaluated under every semantics the driver asks for."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity import reference
from parity.compare import precision, rounding_bound, rounding_bound_grad
from parity.errors import InvalidInput, Unsupported
from parity.model import Attrs


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each requested semantics gives ``NAME`` (the result), ``NAME_bound`` (its rounding bound) and
    ``NAME_geom`` (the result with sampling positions computed in the case's dtype); with a
    ``grad_weight``, the same three for the gradient as ``NAME_grad``, ``NAME_grad_bound``, ``NAME_grad_geom``."""
    try:
        return _evaluate(header, arrays)
    except InvalidInput as exc:  # undefined input: reported as the reference rejecting the case
        raise Unsupported(f"InvalidInput: {exc}") from None


def _evaluate(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    attrs = Attrs.from_json(header["attrs"])
    # The precision the frameworks compute in: the inputs' own for floats (integers are exact).
    dtype = precision(str(arrays["features"].dtype))
    features = arrays["features"].astype(np.float64)
    rois = arrays["rois"].astype(np.float64)
    outputs = {}
    for sem in header["semantics"]:
        args = (rois, attrs.output_size, attrs.spatial_scale, sem["sampling_ratio"], reference.Convention(**sem["convention"]))
        outputs[sem["name"]] = reference.roi_align(features, *args)
        outputs[sem["name"] + "_bound"] = rounding_bound(features, *args, dtype=dtype)
        exact = outputs[sem["name"]]
        outputs[sem["name"] + "_geom"] = exact if dtype == "float64" else reference.roi_align(features, *args, geometry_dtype=dtype)
        if "grad_weight" in arrays:  # the exact vector-Jacobian product of sum(W * out)
            w, shape = arrays["grad_weight"], features.shape
            outputs[sem["name"] + "_grad"] = reference.roi_align_backward(w, shape, *args)
            outputs[sem["name"] + "_grad_bound"] = rounding_bound_grad(shape, rois, w, *args[1:], dtype=dtype)
            outputs[sem["name"] + "_grad_geom"] = reference.roi_align_backward(w, shape, *args, geometry_dtype=dtype)
    return outputs
