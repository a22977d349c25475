"""mindspore.ops.ROIAlign on CPU, under the parameters the mapping table derives."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.ops.roi_align.mapping import MindSporeCall, to_mindspore
from parity.engine.model import Port
from parity.ops.roi_align.attrs import Attrs
from parity.frameworks.mindspore import worker_versions as versions

__all__ = ["run", "versions"]

#: Dtypes MindSpore documents for ROIAlign (features and rois alike).
SUPPORTED_DTYPES = ("float16", "float32")


@lru_cache(maxsize=256)
def _op(call: MindSporeCall) -> Any:
    from mindspore import ops

    return ops.ROIAlign(call.pooled_height, call.pooled_width, call.spatial_scale, call.sample_num, call.roi_end_mode)


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import mindspore as ms

    features, rois = arrays["features"], arrays["rois"]
    if header.get("layout") == "non-contiguous":
        features = np.repeat(features, 2, axis=-1)[..., ::2]
    if not header.get("raw") and str(features.dtype) not in SUPPORTED_DTYPES:
        raise Unsupported(f"MindSpore ROIAlign takes float16/float32 only; this case is {features.dtype}")
    if "mindspore_call" in header:  # an explicit call (parity translate), not the mapped one
        call = MindSporeCall(**header["mindspore_call"])
    else:
        attrs, port = Attrs.from_json(header["attrs"]), Port(header["port"])
        call = to_mindspore(attrs, port)
        if port is Port.TRANSLATED:  # the exact translation takes shifted rois (parity.ops.roi_align.translate)
            from parity.ops.roi_align.translate import mindspore_rois

            rois = mindspore_rois(attrs, rois)
    with native("mindspore"):
        op, x, r = _op(call), ms.Tensor(features), ms.Tensor(rois)
        if "grad_weight" not in arrays:
            return {"out": op(x, r).asnumpy()}
        # The gradient of sum(W * out) w.r.t. the features is the vector-Jacobian product with W:
        # ms.vjp hands W to ROIAlign's backward as it is (ms.grad of the sum would multiply it by
        # ones, the same bits), and costs a fifth of ms.grad of a fresh closure, which MindSpore
        # traces anew for every case.  The forward is the one vjp ran, as a training step's is (and
        # as the torchvision runner's is, under autograd): bit for bit the plain call's on 400
        # random float16/32 cases, and a second call on a shape MindSpore has not seen cost 0.7 ms.
        out, backward = ms.vjp(lambda f: op(f, r), x)
        return {"out": out.asnumpy(), "grad": backward(ms.Tensor(arrays["grad_weight"]))[0].asnumpy()}
