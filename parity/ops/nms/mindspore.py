"""mindspore.ops.NMSWithMask on CPU, called as the port (the note's mapping or the exact
translation) derives it; the kept indices are read as its user reads them."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.engine.model import Port
from parity.frameworks.mindspore import worker_versions as versions
from parity.ops.nms.signature import Attrs, mindspore_inputs

__all__ = ["run", "versions"]

#: Dtypes NMSWithMask documents.
SUPPORTED_DTYPES = ("float16", "float32")


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import mindspore as ms
    from mindspore import ops

    boxes = arrays["boxes"]
    if str(boxes.dtype) not in SUPPORTED_DTYPES:
        raise Unsupported(f"NMSWithMask takes float16/float32 only; this case is {boxes.dtype}")
    attrs = Attrs.from_json(header["attrs"])
    try:
        bboxes, threshold, order = mindspore_inputs(boxes, arrays["scores"], arrays.get("idxs"), attrs, Port(header["port"]))
    except (ValueError, IndexError) as exc:  # the user's packing itself fails: there is no NMSWithMask call to make
        raise Unsupported(f"the [N, 5] input cannot be packed from these boxes and scores: {exc}") from None
    with native("mindspore"):
        _, idx, mask = ops.NMSWithMask(float(threshold))(ms.Tensor(bboxes))
        idx, mask = idx.asnumpy(), mask.asnumpy().astype(bool)
    keep = idx[mask] if order is None else order[mask]
    return {"keep": keep.astype(np.int64)}
