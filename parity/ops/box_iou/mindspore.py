"""mindspore.ops.iou on CPU, called as the port (mapped, renamed or translated) derives it."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import native
from parity.engine.model import Port
from parity.ops.box_iou.signature import Attrs, to_mindspore
from parity.frameworks.mindspore import worker_versions as versions

__all__ = ["run", "versions"]

def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import mindspore as ms
    from mindspore import ops

    call = to_mindspore(Attrs.from_json(header["attrs"]), Port(header["port"]))
    dtype = arrays["boxes1"].dtype  # any dtype goes to MindSpore: how it rejects one is its result
    shift = np.array([0, 0, call.shift, call.shift], dtype=dtype)
    anchor, gt = (arrays[name] - shift if call.shift else arrays[name] for name in (call.anchor, call.gt))
    with native("mindspore"):
        return {"out": ops.iou(ms.Tensor(anchor), ms.Tensor(gt), mode=call.mode).asnumpy()}
