"""torch and torchvision: versions and the bench thread count (the op folders' runners import the packages themselves)."""
from __future__ import annotations


def versions() -> dict[str, str]:
    import torch
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__}


def pin_threads(threads: int) -> dict[str, str]:
    """Set torch's intra-op thread count (before any op); the versions and the count torch reports."""
    found = versions()
    import torch

    torch.set_num_threads(threads)
    return {**found, "threads": str(torch.get_num_threads())}
