"""MindSpore: versions (the op folders' runners import the package themselves)."""
from __future__ import annotations


def versions() -> dict[str, str]:
    import mindspore

    return {"mindspore": mindspore.__version__}
