"""Paddle: versions (the op folders' runners import the package themselves)."""
from __future__ import annotations


def versions() -> dict[str, str]:
    import paddle

    return {"paddle": paddle.__version__}
