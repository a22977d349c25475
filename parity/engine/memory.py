"""How parity's processes ask the kernel for memory.

NumPy advises the kernel to back every array of 4 MB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``).  Where the kernel honours that advice only after compacting memory
(``/sys/kernel/mm/transparent_hugepage/defrag`` = ``madvise``) and memory is fragmented, each
first touch of such an array stalls in compaction, often to get no huge page at all: on the
project's 2-core VM, touching 1.6 GB of fresh float64 arrays took 0.7-2.2 s of CPU with the advice
and 0.35 s without, and the float64 reference spent 11-12 s of CPU on a W4-sized case with it,
5.3-5.6 s without (README, Benchmarks).  Large cases allocate result-sized arrays by the gigabyte,
so parity's processes go without the advice unless ``NUMPY_MADVISE_HUGEPAGE`` says otherwise.
"""
from __future__ import annotations

import os

import numpy as np


def prefer_small_pages() -> bool:
    """Stop NumPy's huge-page advice in this process (for arrays allocated from now on).

    Leaves an explicit ``NUMPY_MADVISE_HUGEPAGE`` (NumPy's own switch, read when it is imported)
    in charge; returns whether the advice was turned off here.  NumPy's setter is private: where a
    NumPy version lacks it, nothing changes.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    setter = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    if setter is None:
        return False
    setter(False)
    return True
