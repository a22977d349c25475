"""MindSpore: versions and the bench thread count (the op folders' runners import the package themselves)."""
from __future__ import annotations


def versions() -> dict[str, str]:
    import mindspore

    return {"mindspore": mindspore.__version__}


def pin_threads(threads: int) -> dict[str, str]:
    """Set MindSpore's CPU op thread count (before any op); the versions and that count."""
    found = versions()
    from mindspore.device_context.cpu import op_tuning

    op_tuning.threads_num(threads)
    return {**found, "threads": str(threads)}
