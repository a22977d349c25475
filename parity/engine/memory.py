"""How parity's processes ask the kernel for memory.

NumPy advises the kernel to back every array of 4 MB or more with transparent huge pages
(``madvise(MADV_HUGEPAGE)``).  Whether that pays depends on the machine's memory at the time:

- Where free memory is fragmented, the kernel (``/sys/kernel/mm/transparent_hugepage/defrag`` =
  ``madvise``) compacts memory on each first touch of an advised array, often to get no huge page
  at all: on the project's 2-core VM after hours of work (``AnonHugePages`` 0), touching 1.6 GB of
  fresh float64 arrays took 0.7-2.2 s of CPU with the advice and 0.35 s without, and the float64
  reference spent 11-12 s of CPU on a W4-sized case with it, 5.3-5.6 s without (README, Benchmarks).
- Where it has free blocks of a huge page or more, a huge page is handed out without compaction
  and the advice is the cheaper choice: on the same VM freshly booted, a fresh 100 MB array (W2's
  float64 result) took 13-15 ms to fill with the advice and 47-55 ms without.

So parity's processes keep the advice only where the kernel has at least HUGE_FREE_BYTES free in
such blocks (``/proc/buddyinfo``) when they start, enough for the largest cases parity is sized
for (W4: 2.9 GB peak), and go without it otherwise.  An explicit ``NUMPY_MADVISE_HUGEPAGE``
decides instead.

Either way, first touching fresh memory can cost more than the arithmetic that fills it, so a
reference keeps what it needs again: :class:`Scratch`, one working buffer reused by every call,
and :class:`Results`, result buffers reused once nobody holds the result any more.
"""
from __future__ import annotations

import os
import threading
import weakref

import numpy as np


#: Free memory in blocks of a huge page or more above which NumPy's huge-page advice is kept.
HUGE_FREE_BYTES = 4 << 30
#: A transparent huge page on x86-64 and most arm64 kernels (the kernel's hpage_pmd_size says).
HUGE_PAGE_BYTES = 2 << 20
BUDDYINFO = "/proc/buddyinfo"


def free_in_huge_blocks(buddyinfo: str = BUDDYINFO, page: int | None = None, huge: int = HUGE_PAGE_BYTES) -> int | None:
    """Bytes the kernel has free in blocks of ``huge`` bytes or more, summed over zones, from
    ``/proc/buddyinfo`` (per zone, the count of free blocks of 1, 2, 4, ... pages); None where
    that file cannot be read or parsed (not Linux)."""
    page = page or os.sysconf("SC_PAGE_SIZE")
    try:
        with open(buddyinfo) as f:
            lines = f.read().splitlines()
        total = 0
        for line in lines:
            counts = line.split(",", 1)[1].split()[2:]  # "Node 0, zone Normal 10990 9877 ..."
            total += sum(int(n) * (page << order) for order, n in enumerate(counts) if page << order >= huge)
        return total
    except (OSError, IndexError, ValueError):
        return None


def prefer_small_pages(buddyinfo: str = BUDDYINFO) -> bool:
    """Stop NumPy's huge-page advice in this process (for arrays allocated from now on), unless the
    kernel has HUGE_FREE_BYTES free in huge-page blocks (see the module's docstring).

    Leaves an explicit ``NUMPY_MADVISE_HUGEPAGE`` (NumPy's own switch, read when it is imported)
    in charge; returns whether the advice was turned off here.  NumPy's setter is private: where a
    NumPy version lacks it, nothing changes.
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    free = free_in_huge_blocks(buddyinfo)
    if free is not None and free >= HUGE_FREE_BYTES:
        return False
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    setter = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    if setter is None:
        return False
    setter(False)
    return True


class Scratch:
    """One float64 working buffer reused by every call of this process, grown as needed.

    On the VMs parity runs on, a detection-sized channels-last table took ~1 s fresh and ~0.2 s
    reused.  It holds the largest size asked for so far until the process ends.
    """

    def __init__(self) -> None:
        self.buffer = np.empty(0)

    def __call__(self, size: int) -> np.ndarray:
        """``size`` float64 values of the buffer (their contents are whatever the last call left)."""
        if size > self.buffer.size:
            self.buffer = np.empty(0)  # free the old one before touching the new one
            self.buffer = np.empty(size)
        return self.buffer[:size]


class Results:
    """Uninitialised float64 result arrays, from buffers this process keeps and hands out again
    once the result made from them, and every view of it, is gone.

    A reference's result of W2's size (100 MB) took 15-19 ms more to fill fresh than reused on the
    2-core VM (47-55 ms without huge pages), a third of the whole forward.  Each result is a view
    of a fresh array over the kept buffer whose base is a ``memoryview``: NumPy sets a view's base
    to the first array down the chain that owns its data or whose own base is not an array, so
    every view a caller takes of the result keeps that array alive.  A weak reference to it tells
    when it is gone; while it lives, its buffer is never handed out again.  Results under ``min_bytes`` are plain
    ``np.empty`` (malloc reuses small blocks itself).  At most ``keep`` buffers are kept: the
    process holds up to that many of the largest results asked for after they are dropped.
    A lock guards the hand-out, so that two threads never get the same buffer.
    """

    def __init__(self, keep: int = 2, min_bytes: int = 1 << 20) -> None:
        self.keep = keep
        self.min_bytes = min_bytes
        self._kept: list[tuple[np.ndarray, weakref.ref[np.ndarray]]] = []
        self._lock = threading.Lock()

    def __call__(self, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape, dtype=np.int64))
        if size * 8 < self.min_bytes:
            return np.empty(shape)
        with self._lock:
            free = [i for i, (buf, lease) in enumerate(self._kept) if lease() is None and buf.size >= size]
            if free:
                buf = self._kept.pop(min(free, key=lambda i: self._kept[i][0].size))[0]  # the smallest that fits
            else:
                buf = np.empty(size)
            anchor = np.frombuffer(buf.data[:size], dtype=np.float64)  # its base: a memoryview, not an array
            self._kept.append((buf, weakref.ref(anchor)))
            del self._kept[:max(len(self._kept) - self.keep, 0)]  # the oldest beyond ``keep``: a live one's memory goes with its result
        return anchor.reshape(shape)
