"""torchvision.ops.roi_align, called exactly as a torchvision user would (CPU, or CUDA via torchvision_cuda)."""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import native
from parity.ops.roi_align.attrs import Attrs
from parity.frameworks.torchvision import versions

__all__ = ["run", "versions"]




def run(header: dict[str, Any], arrays: dict[str, np.ndarray], device: str = "cpu") -> dict[str, np.ndarray]:
    import torch
    from torchvision.ops import roi_align

    attrs = Attrs.from_json(header["attrs"])
    # Everything below is torch code a torchvision user would write: what it raises is torchvision's result.
    with native("torchvision"):
        torch.use_deterministic_algorithms(bool(header.get("deterministic")))
        leaf = torch.from_numpy(arrays["features"]).to(device).requires_grad_("grad_weight" in arrays)
        rois = torch.from_numpy(arrays["rois"]).to(device)
        if header.get("boxes") == "list":
            n = leaf.shape[0]
            ids = rois[:, 0].long()
            boxes: Any = [rois[ids == i, 1:] for i in range(n)]
        else:
            boxes = rois
        features = leaf
        if header.get("layout") == "non-contiguous":  # same values, strided memory
            features = leaf.repeat_interleave(2, dim=-1)[..., ::2]
        out = roi_align(features, boxes, attrs.output_size, attrs.spatial_scale, attrs.sampling_ratio, attrs.aligned)
        # Attributes before values: an output on another device than its inputs is wrong however
        # close its numbers are (the numbers below are copied to the host, which would hide it).
        if out.device.type != leaf.device.type:
            raise RuntimeError(f"output on device {out.device} where the inputs are on {leaf.device}")
        if "grad_weight" not in arrays:
            return {"out": out.detach().cpu().numpy()}
        # gradient of sum(W * out) w.r.t. the features, by autograd
        (out * torch.from_numpy(arrays["grad_weight"]).to(device)).sum().backward()
        if leaf.grad is None:
            raise RuntimeError("backward() left no gradient on the features")
        return {"out": out.detach().cpu().numpy(), "grad": leaf.grad.cpu().numpy()}
