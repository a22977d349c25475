"""MindSpore: versions, how a suite worker runs it, and the bench thread count (the op folders'
runners import the package themselves)."""
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


def worker_versions() -> dict[str, str]:
    """What a suite worker reports at hello, after setting MindSpore up for the run (before any op).

    One thread for its CPU kernels and for its runtime's dispatch, like every worker (workers run
    side by side, OMP_NUM_THREADS=1), and synchronous launches (``mindspore.runtime.launch_blocking``:
    an op's error is raised by the call that caused it, MindSpore's documented use of it).  The
    kernels compute each output element the same way at any thread count, so no number changes.
    With MindSpore's defaults its backend queue and actor threads woke for every op: on the
    standard suite the worker spent 1.75 s of CPU on 522 cases beside the other workers, 0.62 s
    with these settings.
    """
    found = versions()
    import mindspore as ms
    from mindspore.device_context.cpu import op_tuning

    ms.runtime.launch_blocking()
    ms.runtime.dispatch_threads_num(1)
    op_tuning.threads_num(1)
    return found
