"""The channels-last tables the compiled loops of parity.ops.roi_align.kernel read, and the way back.

A table holds pixel ``(b, y, x)`` of ``[N, C, H, W]`` features in row ``(b * H + y) * W + x``,
its channels contiguous, so the kernels' innermost loops run over channels.  Besides the plain
transposes, the tables of the rounding bound's terms: magnitudes and slopes (the slope of a pixel
is its largest absolute difference to a 4-neighbour), read with the same samples as the values.

Compiled and cached like the kernel (``cache=True``).  numba checks a cached function against its
own file only, so no function here calls one compiled in another module, nor the other way round
(``tests/test_layout.py``): an edit there would leave this module's cache on the old code.
"""
from __future__ import annotations

import numpy as np
from numba import njit

#: Pixels per block of an image row in the bound tables: the block's table rows stay in cache.
BLOCK = 64
#: A transpose's tile, pixels by channels: its strided side (one cache line per pixel or channel)
#: stays in cache while the contiguous side is read or written a row at a time.  W2's float32
#: table (2x256x50x68): 1.24 ms at 16 x 64, against 3.99 ms for blocks of 64 pixels copied channel
#: by channel, whose writes each landed on their own line.
TILE = (16, 64)


@njit(cache=True, nogil=True)
def channels_last(x: np.ndarray, table: np.ndarray, c0: int, c1: int) -> None:  # pragma: no cover - compiled
    """Copy channels ``[c0, c1)`` of ``x[N, C, H, W]`` (any float dtype) into ``table[N * H * W (+ spare rows), C]``, in the table's dtype.

    Tile by tile (:data:`TILE`), each table row's part written contiguously (NumPy's transposing
    copy of a detection-sized map is several times slower).
    """
    n, c, h, w = x.shape
    hw = h * w
    flat = x.reshape(n, c, hw)
    tp, tc = TILE
    for b in range(n):
        for p0 in range(0, hw, tp):
            p1 = min(hw, p0 + tp)
            for q0 in range(c0, c1, tc):
                q1 = min(c1, q0 + tc)
                for p in range(p0, p1):
                    row = table[b * hw + p]
                    for ch in range(q0, q1):
                        row[ch] = flat[b, ch, p]


@njit(cache=True, nogil=True)
def channels_first(table: np.ndarray, x: np.ndarray, c0: int) -> None:  # pragma: no cover - compiled
    """The inverse of :func:`channels_last` for the channels ``[c0, c0 + M)`` that ``table[N * H * W (+ spare rows), M]`` holds, into ``x[N, C, H, W]``, tile by tile as there."""
    n, _, h, w = x.shape
    hw = h * w
    flat = x.reshape(n, x.shape[1], hw)
    tp, tc = TILE
    m = table.shape[1]
    for b in range(n):
        for p0 in range(0, hw, tp):
            p1 = min(hw, p0 + tp)
            for q0 in range(0, m, tc):
                q1 = min(m, q0 + tc)
                for p in range(p0, p1):
                    row = table[b * hw + p]
                    for ch in range(q0, q1):
                        flat[b, c0 + ch, p] = row[ch]


@njit(cache=True, nogil=True)
def magnitude_and_slope(x: np.ndarray, table: np.ndarray) -> None:  # pragma: no cover - compiled
    """``table[N * H * W (+ spare rows), 2C]``: ``|x|`` in the first C channels, the local slope in the last C.

    The slope of a pixel is its largest absolute difference to a 4-neighbour: how fast bilinear
    values move per pixel there (parity.ops.roi_align.bounds.rounding_bound).  NaN propagates, as np.maximum does.
    """
    n, c, h, w = x.shape
    for b in range(n):
        for i in range(h):
            for j0 in range(0, w, BLOCK):  # a block of one image row: its table rows stay in cache
                j1 = min(w, j0 + BLOCK)
                row0 = (b * h + i) * w
                for ch in range(c):
                    plane = x[b, ch]
                    for j in range(j0, j1):
                        v = plane[i, j]
                        s = 0.0
                        if i > 0:
                            s = _steeper(s, abs(v - plane[i - 1, j]))
                        if i < h - 1:
                            s = _steeper(s, abs(v - plane[i + 1, j]))
                        if j > 0:
                            s = _steeper(s, abs(v - plane[i, j - 1]))
                        if j < w - 1:
                            s = _steeper(s, abs(v - plane[i, j + 1]))
                        table[row0 + j, ch] = abs(v)
                        table[row0 + j, c + ch] = s


@njit(cache=True, nogil=True, inline="always")
def _steeper(s: float, d: float) -> float:  # pragma: no cover - compiled
    """np.maximum of two slopes: the larger, NaN if either is NaN.  The same rule as
    parity.ops.roi_align.kernel's, kept here for this module's cached functions (see above)."""
    return d if (d > s or d != d) else s


@njit(cache=True, nogil=True)
def values_and_slopes(x: np.ndarray, table: np.ndarray) -> None:  # pragma: no cover - compiled
    """``table[N * H * W (+ spare rows), 2C]``: ``x`` as float64 in the first C channels, its local slope in the last C.

    One table for everything a case's forward terms read (parity.ops.roi_align.fused): the values
    (what :func:`channels_last` holds), their magnitudes (``abs`` of them, taken as they are read)
    and the slopes of :func:`magnitude_and_slope`, computed in float64 from the widened values
    (exact for any narrower float), so each channel gets the same numbers as there.
    """
    n, c, h, w = x.shape
    for b in range(n):
        for i in range(h):
            for j0 in range(0, w, BLOCK):
                j1 = min(w, j0 + BLOCK)
                row0 = (b * h + i) * w
                for ch in range(c):
                    plane = x[b, ch]
                    for j in range(j0, j1):
                        v = np.float64(plane[i, j])
                        s = 0.0
                        if i > 0:
                            s = _steeper(s, abs(v - np.float64(plane[i - 1, j])))
                        if i < h - 1:
                            s = _steeper(s, abs(v - np.float64(plane[i + 1, j])))
                        if j > 0:
                            s = _steeper(s, abs(v - np.float64(plane[i, j - 1])))
                        if j < w - 1:
                            s = _steeper(s, abs(v - np.float64(plane[i, j + 1])))
                        table[row0 + j, ch] = v
                        table[row0 + j, c + ch] = s
