"""The compiled float64 loops of the reference: RoIAlign as the papers write it, one sample at a time.

The loops are those of the Detectron/Caffe2 kernel that torchvision's C++ CPU kernel implements
(``shared/design/roi_align.md`` section 1), in the same per-sample summation order, so that in
float64 they agree with it bit for bit: a bin is ``sum over samples (w1*v1 + w2*v2 + w3*v3 + w4*v4)``,
added sample by sample in (iy, ix) order and divided by the sample count; the backward pass adds
``grad * w / count`` to each corner in (roi, bin, sample, corner) order, as torchvision does.

What differs is only the memory layout: the feature map is read channels-last (``[pixel, C]``), so
the innermost loop runs over channels, contiguous and vectorised, and one sample's geometry is
computed once for every channel.  Sampling positions come in precomputed (parity.ops.roi_align.geometry computes
them in the geometry dtype a convention or a rounding experiment asks for): per roi, ``PH * gh``
row positions and ``PW * gw`` column positions, flattened with offsets.

Compiled by numba on first use and cached on disk (``cache=True``): numba writes the cache next to
this file, or, where the package directory is read-only, under the user's cache directory
(``NUMBA_CACHE_DIR`` overrides both).  Everything is single-threaded: suite workers run side by side.
"""
from __future__ import annotations

import numpy as np
from numba import njit

#: Pixels per block of the channels-last transpose: a block's rows and its channels stay in cache.
_BLOCK = 64


@njit(cache=True, nogil=True)
def channels_last(x: np.ndarray, table: np.ndarray) -> None:  # pragma: no cover - compiled
    """Copy ``x[N, C, H, W]`` (any float dtype) into ``table[N * H * W (+ spare rows), C]``, in the table's dtype.

    Blocked over pixels so that both the strided reads and the contiguous writes stay in cache
    (NumPy's transposing copy of a detection-sized map is several times slower).
    """
    n, c, h, w = x.shape
    hw = h * w
    flat = x.reshape(n, c, hw)
    for b in range(n):
        for p0 in range(0, hw, _BLOCK):
            p1 = min(hw, p0 + _BLOCK)
            for ch in range(c):
                src = flat[b, ch]
                for p in range(p0, p1):
                    table[b * hw + p, ch] = src[p]


@njit(cache=True, nogil=True)
def _corners(y: float, x: float, h: int, w: int) -> tuple[int, int, int, int, float, float, float, float, bool]:  # pragma: no cover
    """torchvision's bilinear rule for one sample: corner pixels (row-major in one image) and weights.

    A sample outside ``[-1, size]`` on either axis (or at a NaN position) reads nothing; coordinates
    in ``[-1, 0]`` are clamped to 0; a sample at or past the last pixel reads that pixel alone.
    """
    if not (y >= -1.0 and y <= h and x >= -1.0 and x <= w):
        return 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, False
    if y <= 0.0:
        y = 0.0
    if x <= 0.0:
        x = 0.0
    y_low = int(y)
    x_low = int(x)
    if y_low >= h - 1:
        y_low = h - 1
        y_high = y_low
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_low = w - 1
        x_high = x_low
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly = y - y_low
    lx = x - x_low
    hy = 1.0 - ly
    hx = 1.0 - lx
    return (
        y_low * w + x_low, y_low * w + x_high, y_high * w + x_low, y_high * w + x_high,
        hy * hx, hy * lx, ly * hx, ly * lx, True,
    )


@njit(cache=True, nogil=True)
def forward(
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
    weighted: bool,
    origin: bool,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Bins ``out[K, C, PH, PW]`` of the rois ``ids`` from ``table[N * H * W + 1, C]`` (last row: zeros).

    Roi ``ids[j]`` samples rows ``ypos[yoff[j]:yoff[j+1]]`` (``PH`` bins of ``gh``) and columns
    ``xpos[xoff[j]:xoff[j+1]]``; the rois are visited in ``order`` (of ``j``: each roi's bins are
    its own, so the order changes only which table rows are still in cache, never a number).
    ``table`` may be float32 (features that were float32): each value is widened as it is read,
    exactly, and the arithmetic is float64 all the same, on half the bytes.  An in-image sample
    reads all four corners, so a NaN next to it reaches the bin even with weight 0, as in the C++ kernel; ``weighted`` reads the zero row for a
    zero-weight corner instead (the mathematical definition).  An out-of-image sample adds nothing,
    or with ``origin`` reads its image's pixel (0, 0) with weight 0, as torchvision's kernel does.
    A roi with an empty grid leaves its bins untouched (0): the C++ loops run zero times.
    """
    _, c, ph, pw = out.shape
    zero = table.shape[0] - 1
    acc = np.empty(c)
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
                acc[:] = 0.0
                for iy in range(gh):
                    y = ypos[yoff[j] + p * gh + iy]
                    for ix in range(gw):
                        x = xpos[xoff[j] + q * gw + ix]
                        i1, i2, i3, i4, w1, w2, w3, w4, inside = _corners(y, x, h, w)
                        if not inside:
                            if origin:
                                v = table[base]
                                for ch in range(c):
                                    acc[ch] += 0.0 * v[ch]
                            continue
                        i1, i2, i3, i4 = base + i1, base + i2, base + i3, base + i4
                        if weighted:
                            i1 = i1 if w1 != 0.0 else zero
                            i2 = i2 if w2 != 0.0 else zero
                            i3 = i3 if w3 != 0.0 else zero
                            i4 = i4 if w4 != 0.0 else zero
                        v1, v2, v3, v4 = table[i1], table[i2], table[i3], table[i4]
                        for ch in range(c):
                            acc[ch] += w1 * v1[ch] + w2 * v2[ch] + w3 * v3[ch] + w4 * v4[ch]
                for ch in range(c):  # strided, but a roi's output block stays in cache
                    out[k, ch, p, q] = acc[ch] / count


@njit(cache=True, nogil=True)
def backward(
    grad: np.ndarray,
    h: int,
    w: int,
    batch: np.ndarray,
    ids: np.ndarray,
    ypos: np.ndarray,
    yoff: np.ndarray,
    xpos: np.ndarray,
    xoff: np.ndarray,
    buf: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Add the gradient of the rois ``ids`` from ``grad[K, C, PH, PW]`` into ``buf[N * H * W, C]``.

    The transpose of :func:`forward` in torchvision's order: every in-image sample adds
    ``grad * w / count`` to each of its four corners (zero-weight ones too, so a NaN gradient
    reaches them, as in the C++ kernel), corner 1 to 4; out-of-image samples add nothing.
    """
    _, c, ph, pw = grad.shape
    g = np.empty(c)
    for j in range(len(ids)):
        k = ids[j]
        gh = (yoff[j + 1] - yoff[j]) // ph
        gw = (xoff[j + 1] - xoff[j]) // pw
        if gh <= 0 or gw <= 0:
            continue
        count = float(gh * gw)
        base = batch[k] * h * w
        for p in range(ph):
            for q in range(pw):
                for ch in range(c):
                    g[ch] = grad[k, ch, p, q]
                for iy in range(gh):
                    y = ypos[yoff[j] + p * gh + iy]
                    for ix in range(gw):
                        x = xpos[xoff[j] + q * gw + ix]
                        i1, i2, i3, i4, w1, w2, w3, w4, inside = _corners(y, x, h, w)
                        if not inside:
                            continue
                        r = buf[base + i1]
                        for ch in range(c):
                            r[ch] += g[ch] * w1 / count
                        r = buf[base + i2]
                        for ch in range(c):
                            r[ch] += g[ch] * w2 / count
                        r = buf[base + i3]
                        for ch in range(c):
                            r[ch] += g[ch] * w3 / count
                        r = buf[base + i4]
                        for ch in range(c):
                            r[ch] += g[ch] * w4 / count


@njit(cache=True, nogil=True)
def channels_first(table: np.ndarray, x: np.ndarray) -> None:  # pragma: no cover - compiled
    """The inverse of :func:`channels_last`: ``table[N * H * W (+ spare rows), C]`` into ``x[N, C, H, W]``."""
    n, c, h, w = x.shape
    hw = h * w
    flat = x.reshape(n, c, hw)
    for b in range(n):
        for p0 in range(0, hw, _BLOCK):
            p1 = min(hw, p0 + _BLOCK)
            for ch in range(c):
                dst = flat[b, ch]
                for p in range(p0, p1):
                    dst[p] = table[b * hw + p, ch]


@njit(cache=True, nogil=True)
def magnitude_and_slope(x: np.ndarray, table: np.ndarray) -> None:  # pragma: no cover - compiled
    """``table[N * H * W (+ spare rows), 2C]``: ``|x|`` in the first C channels, the local slope in the last C.

    The slope of a pixel is its largest absolute difference to a 4-neighbour: how fast bilinear
    values move per pixel there (parity.ops.roi_align.bounds.rounding_bound).  NaN propagates, as np.maximum does.
    """
    n, c, h, w = x.shape
    for b in range(n):
        for i in range(h):
            for j0 in range(0, w, _BLOCK):  # a block of one image row: its table rows stay in cache
                j1 = min(w, j0 + _BLOCK)
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
            for j0 in range(0, w, _BLOCK):
                j1 = min(w, j0 + _BLOCK)
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
    acc = np.empty(c)
    acc_m = np.empty(c)
    acc_s = np.empty(c)
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
                acc[:] = 0.0
                acc_m[:] = 0.0
                acc_s[:] = 0.0
                for iy in range(gh):
                    y = ypos[yoff[j] + p * gh + iy]
                    for ix in range(gw):
                        x = xpos[xoff[j] + q * gw + ix]
                        i1, i2, i3, i4, w1, w2, w3, w4, inside = _corners(y, x, h, w)
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
                for ch in range(c):
                    out[k, ch, p, q] = acc[ch] / count
                    if first:
                        magnitude[k, ch, p, q] = acc_m[ch] / count
                        slope[k, ch, p, q] = acc_s[ch] / count
                    else:
                        magnitude[k, ch, p, q] = _steeper(magnitude[k, ch, p, q], acc_m[ch] / count)
                        slope[k, ch, p, q] = _steeper(slope[k, ch, p, q], acc_s[ch] / count)


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
