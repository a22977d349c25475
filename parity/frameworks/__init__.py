"""The frameworks parity runs: one module each (its import, versions, availability), plus this registry.

An op folder says how each framework calls that op (``parity/ops/<op>/``); what is the same for
every op lives here.  Modules here may import parity.engine only, and import their framework
lazily (inside functions), so that listing them is free.
"""
from __future__ import annotations

import importlib
import importlib.util

#: framework name -> (display name, the package whose presence makes it available)
FRAMEWORKS: dict[str, tuple[str, str]] = {
    "torchvision": ("torchvision", "torchvision"),
    "torchvision-cuda": ("torchvision (CUDA)", "torchvision"),
    "mindspore": ("MindSpore", "mindspore"),
    "onnxruntime": ("ONNX Runtime", "onnxruntime"),
    "paddle": ("Paddle", "paddle"),
}


def display_name(name: str) -> str:
    """How reports name a framework (a runner that is not one keeps its own name)."""
    return FRAMEWORKS.get(name, (name, ""))[0]


def installed(names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``names`` whose package is importable here (found, not imported: workers import them)."""
    return tuple(n for n in names if n in FRAMEWORKS and importlib.util.find_spec(FRAMEWORKS[n][1]) is not None)


def bench_versions(runner: str, threads: int) -> dict[str, str]:
    """What a bench worker reports at hello, after pinning its framework's thread count (before any
    op); a runner that is no framework (the float64 reference) is NumPy under the BLAS thread
    variables its environment sets."""
    if runner == "torchvision":
        from parity.frameworks import torchvision

        return torchvision.pin_threads(threads)
    if runner == "mindspore":
        from parity.frameworks import mindspore

        return mindspore.pin_threads(threads)
    import os

    import numpy as np

    return {"numpy": np.__version__, "threads": os.environ.get("OPENBLAS_NUM_THREADS", "?")}
