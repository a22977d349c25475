"""ONNX ``RoiAlign`` run by ONNX Runtime on CPU: a one-node model built in memory per call.

The node is what torch.onnx exports for ``torchvision.ops.roi_align`` (parity.ops.roi_align.mapping.to_onnx):
opset 16 with ``coordinate_transformation_mode`` ``half_pixel`` (aligned=True) or
``output_half_pixel`` (aligned=False), ``mode="avg"``, ``sampling_ratio`` 0 for adaptive, the
``[K, 5]`` rois split into ``rois [K, 4]`` and ``batch_indices [K]`` int64 (a C-style truncation
of the float batch index, as torchvision's kernel casts it).  Opset 10 (no
coordinate_transformation_mode, i.e. aligned=False only) is selected with the environment
variable ``PARITY_ONNX_OPSET=10`` (which the judge reads too) or, per request, the header key
``onnx_opset``; a header ``onnx_call`` (the fields of parity.ops.roi_align.mapping.OnnxCall) runs an explicit
node instead of the mapped one.  Model inputs are declared with their ranks (4, 2, 1), as an
exporter declares them.

Semantics measured with onnxruntime 1.32.0 (CPU, float32 2x3x10x12 map, output 3x4, spatial
scale 0.5, sampling_ratio 2/1/0, 8 rois each normal / smaller than a pixel / inverted, opset 16
both modes and opset 10; tests/test_runners_extra.py re-measures it): max |ORT - reference|
<= 8.6e-7 under the torchvision conventions, i.e. ``output_half_pixel`` and opset 10 clamp the
roi size to >= 1 (0.83 to 2.1 off without the clamp), ``half_pixel`` does not (1.0 to 2.8 off
with it), the adaptive grid is ``ceil(size / output)`` (1.4 to 2.0 off with floor) and an empty
grid gives 0 (the ``max(count, 1)`` guard): what the ONNX spec text and onnx.reference state.
The whole standard suite passes against the reference (`parity run --runners
torchvision,onnxruntime`); float16 runs with float32 sample positions (within 3.1 float16 ULP of
the exact reference in all 88 float16 cases), where torchvision rounds them to float16 (declared:
torchvision-float16-sample-positions).  Departures found:
- a roi whose adaptive grid sides have opposite signs (inverted on one axis by at least the
  output size, aligned=True) raises ``Integer overflow`` where the spec gives 0 (declared:
  onnxruntime-mixed-sign-adaptive-grid-raises; ``parity run --suite edge -k edge-inverted``);
- an out-of-image sample reads pixel (0, 0) of its image with weight 0 (as torchvision's
  kernel does), so a NaN/Inf there reaches every bin with such a sample (declared:
  onnxruntime-outside-samples-read-origin; ``parity run --suite edge --runners
  torchvision,onnxruntime -k nan-at-origin``: 30 of 108 and 27 of 108 elements NaN, exactly the
  bins with an out-of-image sample, the rest within 4.9e-7);
- ``spatial_scale`` is a FLOAT attribute (documented), so a float64 model scales by float32(s):
  3.1e-6 off the float64 reference at s=0.3 (0 at dyadic scales, the only float64 scales of the
  standard suite); not declarable as a variant (the reference takes the case's scale), so a
  float64 case at a non-dyadic scale (the random suite has some) is a MISMATCH.

Argument checks observed (ORT 1.32.0, CPU):
- dtypes: X and rois float16, float32 and float64 run (float16 too, although older CPU builds
  registered float/double only); rois must have X's type and batch_indices must be int64
  (``INVALID_ARGUMENT: Unexpected input data type``); integer X is rejected.
- ``sampling_ratio < 0``: session creation fails, ``Sampling ratio should be >=0`` (hence -1 -> 0).
- batch index outside [0, N): ``batch_indices value 2 at index 0 is out of range [0, 2)``.
- NaN or Inf roi coordinate: ``All 'rois' values must be finite``; 1e30 runs (output 0).
- rois with 3 or 5 columns: ``Second dimension for rois should be exactly 4``; batch_indices
  of another length: ``First dimension (num_rois) of batch_indices and rois don't match``.
- output size 0 returns an empty ``[K, C, 0, W]`` result; negative raises (tensor size < 0).
- spatial_scale 0, negative or 1e30 run (constant or zero output); sampling_ratio 2000 runs (~5 s).
- an unknown coordinate_transformation_mode string is not rejected (it acts as output_half_pixel).
- with a model whose X has no declared rank, a 3-D X aborts the process (SIGABRT, "terminate
  called without an active exception"); with the declared rank ORT raises an invalid-rank error.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.ops.roi_align.mapping import OnnxCall, to_onnx
from parity.engine.model import Port
from parity.ops.roi_align.attrs import Attrs
from parity.frameworks.onnxruntime import session, versions

__all__ = ["run", "versions"]

#: Feature dtypes ONNX RoiAlign (opset 10/16) allows and ORT's CPU kernel runs.
SUPPORTED_DTYPES = ("float16", "float32", "float64")




@lru_cache(maxsize=256)
def _session(call: OnnxCall, x_dtype: str, rois_dtype: str) -> Any:
    """An InferenceSession for one node, cached per call and input types."""
    from onnx import TensorProto, helper

    def tensor(name: str, dtype: str | int, rank: int) -> Any:
        elem = dtype if isinstance(dtype, int) else helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        return helper.make_tensor_value_info(name, elem, [f"{name}_{i}" for i in range(rank)])

    attributes: dict[str, Any] = call.attributes()  # make_node's **kwargs (typed Any by onnx) are the node's attributes
    node = helper.make_node("RoiAlign", ["X", "rois", "batch_indices"], ["Y"], **attributes)
    graph = helper.make_graph(
        [node],
        "roi_align",
        [tensor("X", x_dtype, 4), tensor("rois", rois_dtype, 2), tensor("batch_indices", TensorProto.INT64, 1)],
        [tensor("Y", x_dtype, 4)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", call.opset)])
    model.ir_version = 8  # accepted by every ORT that runs opset 16
    return session(model)


def onnx_call(header: dict[str, Any]) -> OnnxCall:
    """The node a request asks for: explicit (``onnx_call``) or mapped (``onnx_opset`` or the default)."""
    if "onnx_call" in header:
        return OnnxCall(**header["onnx_call"])
    opset = header.get("onnx_opset")
    return to_onnx(Attrs.from_json(header["attrs"]), Port(header["port"]), None if opset is None else int(opset))


def _batch_indices(rois: np.ndarray) -> np.ndarray:
    """Column 0 as int64, truncated toward zero (torchvision's C cast); NaN has no int64 form."""
    index = np.atleast_1d(rois[..., 0])
    if index.dtype.kind == "f" and not np.isfinite(index).all():
        raise Unsupported("a non-finite batch index has no int64 form for ONNX batch_indices")
    return np.trunc(index).astype(np.int64) if index.dtype.kind == "f" else index.astype(np.int64)


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    features, rois = arrays["features"], arrays["rois"]
    if header.get("layout") == "non-contiguous":  # same values, strided memory
        features = np.repeat(features, 2, axis=-1)[..., ::2]
    if not header.get("raw") and str(features.dtype) not in SUPPORTED_DTYPES:
        raise Unsupported(f"ONNX RoiAlign takes float16/float32/float64; this case is {features.dtype}")
    call = onnx_call(header)
    problem = call.problem()
    if problem:
        raise Unsupported(problem)
    if rois.ndim == 0:
        raise Unsupported("a 0-d rois array has no [K, 4] + batch_indices form")
    feeds = {"X": features, "rois": np.ascontiguousarray(rois[..., 1:]), "batch_indices": _batch_indices(rois)}
    with native("onnxruntime"):  # session creation checks the node's attributes (e.g. sampling_ratio >= 0)
        session = _session(call, str(features.dtype), str(rois.dtype))
        return {"out": session.run(None, feeds)[0]}
