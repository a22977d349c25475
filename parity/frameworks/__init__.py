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
