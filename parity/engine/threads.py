"""Splitting one compiled loop over threads, for references whose kernels release the GIL.

A reference runs single-threaded in the suite (workers already run side by side, one per
framework); ``parity bench --threads N`` gives every implementation N threads, and an oracle held
to a fraction of a framework's time must use them too.  The split is over disjoint pieces of
work (a kernel's rois, or its channels), each piece computed by exactly the operations it gets
in one thread, so the result does not depend on the thread count, bit for bit.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _forget_pool() -> None:
    """In a forked child (a worker's isolated case) the pool's threads do not exist: start afresh."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


os.register_at_fork(after_in_child=_forget_pool)


def spans(n: int, parts: int) -> list[tuple[int, int]]:
    """``[0, n)`` cut into at most ``parts`` contiguous, non-empty ``(start, stop)`` spans of near-equal length."""
    parts = max(1, min(parts, n))
    cuts = [n * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def run_all(calls: list[Callable[[], object]]) -> None:
    """Run ``calls`` side by side (the first in this thread), waiting for all; an exception of any is raised here.

    Not for concurrent or nested use: one caller at a time (a reference call) owns the pool."""
    global _pool, _pool_size
    if len(calls) <= 1:
        for call in calls:
            call()
        return
    if _pool is None or _pool_size < len(calls) - 1:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool, _pool_size = ThreadPoolExecutor(len(calls) - 1, thread_name_prefix="parity-kernel"), len(calls) - 1
    futures = [_pool.submit(call) for call in calls[1:]]
    try:
        calls[0]()
    finally:
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
