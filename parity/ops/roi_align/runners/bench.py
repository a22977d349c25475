"""Worker side of ``parity bench``: times one framework's RoIAlign inside that framework's process.

Started by parity.ops.roi_align.bench through parity.engine.pool with ``PARITY_BENCH_FRAMEWORK`` (torchvision, mindspore
or reference) and ``PARITY_BENCH_THREADS`` in its environment, next to OMP_NUM_THREADS and the BLAS
thread variables.  The clock runs here, around the bare call, so imports, pipe transfers and dtype
conversions never enter a figure; the driver sends inputs once per workload and collects seconds.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from parity.engine.bench import time_jobs
from parity.frameworks import bench_versions

FRAMEWORK = os.environ.get("PARITY_BENCH_FRAMEWORK", "reference")
THREADS = int(os.environ.get("PARITY_BENCH_THREADS", "1"))

Call = Callable[[], object]


def versions() -> dict[str, str]:
    """The framework's versions, after pinning its thread count (done at hello, before any op)."""
    return bench_versions(FRAMEWORK, THREADS)


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Time each job of ``header["jobs"]`` (parity.engine.bench.time_jobs): ``warmup`` untimed calls,
    then timed ones until the last ``calls`` are steady, stopping early once they add up to
    ``budget_s`` seconds (MindSpore takes ~20 s a call on W4: five of them would say little more than two)."""
    make = {"torchvision": _torchvision, "mindspore": _mindspore, "reference": _reference}[FRAMEWORK]
    return time_jobs(FRAMEWORK, lambda job: make(job, header, arrays), header)


def _torchvision(job: dict[str, Any], h: dict[str, Any], arrays: dict[str, np.ndarray]) -> Call:
    import torch
    from torchvision.ops import roi_align

    dtype = getattr(torch, job["dtype"])
    rois = torch.from_numpy(arrays["rois"]).to(dtype)
    (ph, pw), s, sr = h["output_size"], float(h["spatial_scale"]), int(h["sampling_ratio"])
    if job["pass"] == "backward":
        # The C++ backward kernel that autograd calls, without the autograd bookkeeping around it.
        grad = torch.from_numpy(arrays["grad"]).to(dtype)
        n, c, height, width = arrays["features"].shape
        backward = torch.ops.torchvision._roi_align_backward
        return lambda: backward(grad, rois, s, ph, pw, n, c, height, width, sr, False)
    features = torch.from_numpy(arrays["features"]).to(dtype)

    def forward() -> object:
        with torch.no_grad():
            return roi_align(features, rois, (ph, pw), s, sr, False)

    return forward


def _mindspore(job: dict[str, Any], h: dict[str, Any], arrays: dict[str, np.ndarray]) -> Call:
    import mindspore as ms
    from mindspore import ops

    (ph, pw), s, sr = h["output_size"], float(h["spatial_scale"]), int(h["sampling_ratio"])
    op = ops.ROIAlign(ph, pw, s, sr, 0)  # roi_end_mode=0: the mapping of torchvision aligned=False
    features = ms.Tensor(arrays["features"].astype(job["dtype"]))
    rois = ms.Tensor(arrays["rois"].astype(job["dtype"]))

    def forward() -> object:
        # asnumpy waits for the result (PyNative may dispatch asynchronously); on CPU it adds one
        # host copy of the output, small next to the op.
        return op(features, rois).asnumpy()

    return forward


def _reference(job: dict[str, Any], h: dict[str, Any], arrays: dict[str, np.ndarray]) -> Call:
    from parity.ops.roi_align.reference import roi_align, roi_align_backward

    rois = arrays["rois"].astype(np.float64)
    args = (h["output_size"], float(h["spatial_scale"]), int(h["sampling_ratio"]))
    if job["pass"] == "backward":
        grad = arrays["grad"].astype(np.float64)
        shape = arrays["features"].shape
        return lambda: roi_align_backward(grad, shape, rois, *args, threads=THREADS)
    # The workload's float32 features as every other implementation gets them: the reference
    # widens each value as it reads it (exactly) and computes in float64.
    features = arrays["features"]
    return lambda: roi_align(features, rois, *args, threads=THREADS)
