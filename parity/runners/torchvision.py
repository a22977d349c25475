"""torchvision.ops.roi_align on CPU, called exactly as a torchvision user would."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.model import Attrs


def versions() -> dict[str, str]:
    import torch
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import torch
    from torchvision.ops import roi_align

    attrs = Attrs.from_json(header["attrs"])
    features = torch.from_numpy(arrays["features"])
    if header.get("layout") == "non-contiguous":  # same values, strided memory
        features = features.repeat_interleave(2, dim=-1)[..., ::2]
    rois = torch.from_numpy(arrays["rois"])
    if header.get("boxes") == "list":
        n = features.shape[0]
        ids = rois[:, 0].long()
        boxes: Any = [rois[ids == i, 1:] for i in range(n)]
    else:
        boxes = rois
    out = roi_align(features, boxes, attrs.output_size, attrs.spatial_scale, attrs.sampling_ratio, attrs.aligned)
    return {"out": out.numpy()}
