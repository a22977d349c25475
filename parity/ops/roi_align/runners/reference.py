"""The float64 reference, evaluated under every semantics the driver asks for."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from parity.ops.roi_align import float16_serial, fused, geometry, reference
from parity.engine.compare import precision
from parity.ops.roi_align.bounds import gradient_scale, rounding_bound_and_scale, rounding_bound_grad
from parity.engine.errors import InvalidInput, Unsupported
from parity.ops.roi_align.attrs import Attrs

#: What every reference entry point takes after the features: rois, pooled size, scale, sampling ratio, convention.
Args = tuple[np.ndarray, tuple[int, int], float, int, geometry.Convention]


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """parity's own kernel: it has no native call, so anything it raises but InvalidInput is
    parity's failure, never a framework's result.

    Each requested semantics gives ``NAME`` (the result), ``NAME_bound`` (its rounding bound),
    ``NAME_scale`` (the scale the bound is judged against) and ``NAME_geom`` (the result with
    sampling positions computed in the case's dtype); with a ``grad_weight``, the same four for the
    gradient as ``NAME_grad``, ``NAME_grad_bound``, ``NAME_grad_scale``, ``NAME_grad_geom``.

    Each semantics is evaluated and validated on its own: a rule that makes the input undefined
    for one framework (MindSpore rounding batch index 1.7 to image 2 of 2) gives that semantics
    ``NAME_invalid`` (the reason) and leaves the others' results standing.  Only when every
    semantics finds the input undefined is the case rejected as a whole.
    """
    dtype = precision(str(arrays["features"].dtype))
    features = _Features(arrays["features"])
    rois = arrays["rois"].astype(np.float64)
    attrs = Attrs.from_json(header["attrs"])
    outputs: dict[str, np.ndarray] = {}
    reasons = []
    for sem in header["semantics"]:
        convention = geometry.Convention(**sem["convention"])
        args: Args = (rois, attrs.output_size, attrs.spatial_scale, sem["sampling_ratio"], convention)
        try:
            outputs.update(_evaluate(sem["name"], features, args, arrays.get("grad_weight"), dtype))
        except InvalidInput as exc:  # undefined under this semantics: a fact about the input
            outputs[sem["name"] + "_invalid"] = np.array(f"InvalidInput: {exc}")
            reasons.append(f"InvalidInput: {exc}")
    if len(reasons) == len(header["semantics"]):
        raise Unsupported(reasons[0])
    return outputs


class _Features:
    """A case's features, in the forms its semantics read: as sent (with the channels-last table
    the fused forward shares across semantics, parity.ops.roi_align.fused) and as float64, each
    made on first use."""

    def __init__(self, features: np.ndarray):
        self.sent = features
        self.fused = fused.FeatureTable(features)
        self._float64: np.ndarray | None = None

    @property
    def float64(self) -> np.ndarray:
        if self._float64 is None:
            self._float64 = self.sent.astype(np.float64)
        return self._float64


def _evaluate(name: str, x: _Features, args: Args, weight: np.ndarray | None, dtype: str) -> dict[str, np.ndarray]:
    convention = args[-1]
    if fused.fusable(x.sent, args[0], args[1], convention):
        terms = fused.forward_terms(x.fused, *args, dtype=dtype)
        out = {name: terms.result, name + "_bound": terms.bound, name + "_scale": terms.scale, name + "_geom": terms.geom}
    else:
        out = _forward(name, x.float64, args, dtype)
    if weight is not None and convention.accumulate != "float16":  # the exact vector-Jacobian product of sum(W * out)
        features = x.float64
        shape = features.shape
        out[name + "_grad"] = reference.roi_align_backward(weight, shape, *args)
        out[name + "_grad_bound"] = rounding_bound_grad(shape, args[0], weight, *args[1:], dtype=dtype)
        out[name + "_grad_scale"] = gradient_scale(shape, args[0], weight, *args[1:], dtype=dtype)
        out[name + "_grad_geom"] = reference.roi_align_backward(weight, shape, *args, geometry_dtype=dtype)
    return out


def _forward(name: str, features: np.ndarray, args: Args, dtype: str) -> dict[str, np.ndarray]:
    """The forward terms from separate passes: result, bound and scale, dtype-geometry result."""
    convention = args[-1]
    if convention.accumulate == "float16":  # a prediction of a float16 kernel: its bounds are the allowance
        lo, hi = float16_serial.float16_serial_interval(features, *args)
        exact = (*args[:-1], dataclasses.replace(convention, accumulate="exact"))
        with np.errstate(invalid="ignore"):
            out = {name: np.where(lo == hi, lo, (lo + hi) / 2), name + "_bound": np.nan_to_num((hi - lo) / 2)}
        out[name + "_scale"] = rounding_bound_and_scale(features, *exact, dtype=dtype)[1]
        out[name + "_geom"] = out[name]
        return out
    out = {name: reference.roi_align(features, *args)}
    out[name + "_bound"], out[name + "_scale"] = rounding_bound_and_scale(features, *args, dtype=dtype)
    out[name + "_geom"] = out[name] if dtype == "float64" else reference.roi_align(features, *args, geometry_dtype=dtype)
    return out
