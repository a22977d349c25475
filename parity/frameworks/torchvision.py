"""torch and torchvision: versions (the op folders' runners import the packages themselves)."""
from __future__ import annotations


def versions() -> dict[str, str]:
    import torch
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__}
