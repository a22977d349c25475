"""torchvision.ops.roi_align on CUDA: the device axis, compared with the CPU kernel like any pair.

Without a CUDA device every case is UNSUPPORTED (skipped cleanly, never a failure).  With
``parity run --deterministic``, torch.use_deterministic_algorithms(True) is on for the call.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from parity.engine.errors import Unsupported, native
from parity.ops.roi_align.runners import torchvision as cpu


def versions() -> dict[str, str]:
    import torch

    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    return {**cpu.versions(), "cuda": str(torch.version.cuda), "device": name}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import torch

    with native("torchvision-cuda"):
        available = torch.cuda.is_available()
    if not available:
        raise Unsupported("no CUDA device on this machine (torch.cuda.is_available() is False)")
    return cpu.run(header, arrays, device="cuda")
