"""The compiled loops of the rounding bound's terms: magnitudes and slopes, read with the values.

parity.ops.roi_align.bounds and parity.ops.roi_align.fused bound what rounding in a dtype can
move a result by from the magnitudes of the values a bin averages and from how fast they change
(the slope of a pixel: its largest absolute difference to a 4-neighbour).  These loops build
those tables and read them with the same samples, corners and weights as
parity.ops.roi_align.kernel.forward, in its order, so that each term is the number a separate
pass of that kernel over the term's table gives.  Compiled and cached like that kernel.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from parity.ops.roi_align.kernel import BLOCK, corners, write_bins


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
    """np.maximum of two slopes: the larger, NaN if either is NaN."""
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


@njit(cache=True, nogil=True, inline="always")
def _fold_bins(block: np.ndarray, count: float, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Like :func:`write_bins`, but folding each mean into what ``out`` holds with :func:`_steeper`."""
    c, ph, pw = out.shape
    for ch in range(c):
        o = out[ch]
        for p in range(ph):
            for q in range(pw):
                o[p, q] = _steeper(o[p, q], block[p * pw + q, ch] / count)


@njit(cache=True, nogil=True)
def forward_terms(
    table: np.ndarray,
    h: int,
    w: int,
    batch: np.ndarray,
    ids: np.ndarray,
    ypos: np.ndarray,
    yoff: np.ndarray,
    xpos: np.ndarray,
    xoff: np.ndarray,
    order: np.ndarray,
    origin: bool,
    first: bool,
    out: np.ndarray,
    magnitude: np.ndarray,
    slope: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """:func:`forward` of the values and, from the same samples, of their magnitudes and slopes
    (rois visited in ``order``, as there).

    ``table`` is :func:`values_and_slopes`' (last row: zeros).  Each sample's corners and weights
    are computed once; the values are read as ``forward`` reads them with ``weighted=False`` (all
    four corners, into ``out``), magnitudes and slopes as with ``weighted=True`` (a zero-weight
    corner reads the zero row), into ``magnitude`` and ``slope``, or, unless ``first``, folded
    into what they hold with NaN-propagating maxima (np.maximum: the bound over two geometries).
    Per channel the operations are those of ``forward``, in its order, so every number is the one
    the separate passes give.
    """
    _, c, ph, pw = out.shape
    zero = table.shape[0] - 1
    block = np.empty((ph * pw, c))  # a roi's sums, channels-last, as in forward
    block_m = np.empty((ph * pw, c))
    block_s = np.empty((ph * pw, c))
    for jj in range(len(order)):
        j = order[jj]
        k = ids[j]
        gh = (yoff[j + 1] - yoff[j]) // ph
        gw = (xoff[j + 1] - xoff[j]) // pw
        if gh <= 0 or gw <= 0:
            continue
        count = float(gh * gw)
        base = batch[k] * h * w
        for p in range(ph):
            for q in range(pw):
                acc, acc_m, acc_s = block[p * pw + q], block_m[p * pw + q], block_s[p * pw + q]
                acc[:] = 0.0
                acc_m[:] = 0.0
                acc_s[:] = 0.0
                for iy in range(gh):
                    y = ypos[yoff[j] + p * gh + iy]
                    for ix in range(gw):
                        x = xpos[xoff[j] + q * gw + ix]
                        i1, i2, i3, i4, w1, w2, w3, w4, inside = corners(y, x, h, w)
                        if not inside:
                            if origin:
                                v = table[base]
                                for ch in range(c):
                                    acc[ch] += 0.0 * v[ch]
                                    acc_m[ch] += 0.0 * abs(v[ch])
                                    acc_s[ch] += 0.0 * v[c + ch]
                            continue
                        i1, i2, i3, i4 = base + i1, base + i2, base + i3, base + i4
                        v1, v2, v3, v4 = table[i1], table[i2], table[i3], table[i4]
                        m1 = table[i1 if w1 != 0.0 else zero]
                        m2 = table[i2 if w2 != 0.0 else zero]
                        m3 = table[i3 if w3 != 0.0 else zero]
                        m4 = table[i4 if w4 != 0.0 else zero]
                        for ch in range(c):
                            acc[ch] += w1 * v1[ch] + w2 * v2[ch] + w3 * v3[ch] + w4 * v4[ch]
                            acc_m[ch] += w1 * abs(m1[ch]) + w2 * abs(m2[ch]) + w3 * abs(m3[ch]) + w4 * abs(m4[ch])
                            acc_s[ch] += w1 * m1[c + ch] + w2 * m2[c + ch] + w3 * m3[c + ch] + w4 * m4[c + ch]
        write_bins(block, count, out[k])
        if first:
            write_bins(block_m, count, magnitude[k])
            write_bins(block_s, count, slope[k])
        else:
            _fold_bins(block_m, count, magnitude[k])
            _fold_bins(block_s, count, slope[k])


@njit(cache=True, nogil=True)
def finish_bound(magnitude: np.ndarray, slope: np.ndarray, steps: np.ndarray, coordinate: np.ndarray, u: float) -> None:  # pragma: no cover
    """In place: ``slope`` becomes the rounding bound ``u * (steps * magnitude + coordinate * slope)``
    of parity.ops.roi_align.bounds.rounding_bound_and_scale, ``magnitude`` its scale; a non-finite
    value of either becomes 0 there (no finite bound).  ``steps`` and ``coordinate`` are per roi."""
    k = magnitude.shape[0]
    m2 = magnitude.reshape(k, -1)
    s2 = slope.reshape(k, -1)
    for r in range(k):
        st = steps[r]
        co = coordinate[r]
        for e in range(m2.shape[1]):
            m = m2[r, e]
            b = u * (st * m + co * s2[r, e])
            s2[r, e] = b if np.isfinite(b) else 0.0
            m2[r, e] = m if np.isfinite(m) else 0.0
