"""Framework runners: one module per framework, each exposing ``versions()`` and ``run()``.

``run(header, arrays)`` receives the case's torchvision-style attrs and numpy inputs, maps the
parameters, calls the framework natively and returns named numpy outputs.  Runner modules
import their framework lazily, so that listing them is free; they execute only inside a
worker process (parity.engine.worker), never in the driver.
"""
from __future__ import annotations

#: Registry: runner name -> module under parity.ops.roi_align.runners.
RUNNERS: dict[str, str] = {
    "torchvision": "parity.ops.roi_align.runners.torchvision",
    "mindspore": "parity.ops.roi_align.runners.mindspore",
    "onnxruntime": "parity.ops.roi_align.runners.onnxruntime",
    "paddle": "parity.ops.roi_align.runners.paddle",
    "torchvision-cuda": "parity.ops.roi_align.runners.torchvision_cuda",
    "reference": "parity.ops.roi_align.runners.reference",
}

#: Runners whose outputs are judged against the reference (all but the oracle itself).
FRAMEWORKS: tuple[str, ...] = ("torchvision", "mindspore", "onnxruntime", "paddle", "torchvision-cuda")
