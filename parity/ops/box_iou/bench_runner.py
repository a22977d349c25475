"""Worker side of ``parity bench --op box_iou``: times one framework's box_iou in its own process.

Started by parity.ops.box_iou.bench with ``PARITY_BENCH_FRAMEWORK`` (torchvision, mindspore or
reference) and ``PARITY_BENCH_THREADS``; the loop is parity.engine.bench.time_jobs.  Each call is
the one parity judges: torchvision's ``box_iou(boxes1, boxes2)``, MindSpore's mapped
``ops.iou(boxes2, boxes1, mode='iou')``, and the reference as a case's reference worker runs it
(torchvision's documented semantics, its rounding bound included).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from parity.engine.bench import time_jobs
from parity.frameworks import bench_versions

FRAMEWORK = os.environ.get("PARITY_BENCH_FRAMEWORK", "reference")
THREADS = int(os.environ.get("PARITY_BENCH_THREADS", "1"))


def versions() -> dict[str, str]:
    """The framework's versions, after pinning its thread count (done at hello, before any op)."""
    return bench_versions(FRAMEWORK, THREADS)


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    make = {"torchvision": _torchvision, "mindspore": _mindspore, "reference": _reference}[FRAMEWORK]
    return time_jobs(FRAMEWORK, lambda job: make(job["dtype"], arrays), header)


def _torchvision(dtype: str, arrays: dict[str, np.ndarray]) -> Callable[[], object]:
    import torch
    from torchvision.ops import box_iou

    b1, b2 = (torch.from_numpy(arrays[k].astype(dtype)) for k in ("boxes1", "boxes2"))

    def call() -> object:
        with torch.no_grad():
            return box_iou(b1, b2)

    return call


def _mindspore(dtype: str, arrays: dict[str, np.ndarray]) -> Callable[[], object]:
    import mindspore as ms
    from mindspore import ops

    anchor, gt = (ms.Tensor(arrays[k].astype(dtype)) for k in ("boxes2", "boxes1"))
    # asnumpy waits for the result (PyNative may dispatch asynchronously) and adds one host copy
    return lambda: ops.iou(anchor, gt, mode="iou").asnumpy()


def _reference(dtype: str, arrays: dict[str, np.ndarray]) -> Callable[[], object]:
    from parity.engine.model import Port
    from parity.ops.box_iou import semantics
    from parity.ops.box_iou.reference import evaluate
    from parity.ops.box_iou.signature import Attrs
    from parity.ops.box_iou.suites import case

    c = case("bench", "bench", Attrs(), arrays["boxes1"], arrays["boxes2"], dtype, Port.MAPPED, ())
    sem, inputs = semantics.documented("torchvision", c), dict(c.inputs)
    return lambda: evaluate(inputs, sem)
