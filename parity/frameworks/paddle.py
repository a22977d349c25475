"""Paddle: versions, and the package set up as every op's runner uses it (CPU)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any


def versions() -> dict[str, str]:
    import paddle

    return {"paddle": paddle.__version__}


@lru_cache(maxsize=1)
def module() -> Any:
    """``paddle``, imported on first use (it is slow to import) and set to run on the CPU."""
    import paddle

    paddle.set_device("cpu")
    return paddle
