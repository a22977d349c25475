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
(``NUMBA_CACHE_DIR`` overrides both).  Every kernel is single-threaded and releases the GIL: suite
workers run side by side, and ``parity bench --threads`` splits a call over disjoint rois or
channels (parity.engine.threads).
"""
from __future__ import annotations

import numpy as np
from numba import njit

@njit(cache=True, nogil=True)
def corners(y: float, x: float, h: int, w: int) -> tuple[int, int, int, int, float, float, float, float, bool]:  # pragma: no cover
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


@njit(cache=True, nogil=True, inline="always")
def _steeper(s: float, d: float) -> float:  # pragma: no cover - compiled
    """np.maximum of two slopes: the larger, NaN if either is NaN."""
    return d if (d > s or d != d) else s


@njit(cache=True, nogil=True, inline="always")
def exact_inverse(count: float) -> float:  # pragma: no cover - compiled
    """``1 / count`` where dividing by ``count`` is multiplying by it, bit for bit (a power of two:
    both round the same real number), else 0 (divide).  Multiplying is several times cheaper."""
    whole = int(count)
    return 1.0 / count if whole & (whole - 1) == 0 else 0.0


@njit(cache=True, nogil=True, inline="always")
def over(x: float, count: float, inverse: float) -> float:  # pragma: no cover - compiled
    """``x / count``, through :func:`exact_inverse`'s ``inverse`` where it has one."""
    return x * inverse if inverse != 0.0 else x / count


@njit(cache=True, nogil=True, inline="always")
def write_bins(block: np.ndarray, count: float, out: np.ndarray, fold: bool) -> None:  # pragma: no cover - compiled
    """``out[C, PH, PW]`` of one roi from its sums ``block[PH * PW, C]``, each divided by the sample
    count; with ``fold``, each mean is folded into what ``out`` holds with :func:`_steeper` instead.

    The division goes through :func:`over` (a multiplication where that is exact).  ``out`` is
    written in its memory order, one channel's bins at a time (W2's forward: 2 ms less than
    through ``out[ch, p, q]``).
    """
    c, ph, pw = out.shape
    bins = ph * pw
    flat = out.reshape(c * bins)
    inverse = exact_inverse(count)
    for ch in range(c):
        o = flat[ch * bins:(ch + 1) * bins]
        if fold:
            for b in range(bins):
                o[b] = _steeper(o[b], over(block[b, ch], count, inverse))
        else:
            for b in range(bins):
                o[b] = over(block[b, ch], count, inverse)


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
    A roi with an empty grid leaves its bins untouched (the C++ loops run zero times: the caller
    sets them to 0); every other roi's bins are all written.

    A roi's bins are summed channels-last into ``block`` and written to ``out`` channel by channel
    once the roi is done: bin by bin, every channel's write would land on its own cache line of
    ``out`` (W2: 256 lines a bin), and that cost a sixth of the forward.  A bin's sums start from
    its first sample rather than from a zeroed row (W2: 2 ms of 40).
    """
    _, c, ph, pw = out.shape
    zero = table.shape[0] - 1
    block = np.empty((ph * pw, c))
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
                acc = block[p * pw + q]
                first = True  # the bin's first sample sets its sums to 0.0 + the sample's values: the C++ kernel's first +=
                for iy in range(gh):
                    y = ypos[yoff[j] + p * gh + iy]
                    for ix in range(gw):
                        x = xpos[xoff[j] + q * gw + ix]
                        i1, i2, i3, i4, w1, w2, w3, w4, inside = corners(y, x, h, w)
                        if not inside:
                            if origin:
                                v = table[base]
                                for ch in range(c):
                                    acc[ch] = (0.0 if first else acc[ch]) + 0.0 * v[ch]
                                first = False
                            continue
                        i1, i2, i3, i4 = base + i1, base + i2, base + i3, base + i4
                        if weighted:
                            i1 = i1 if w1 != 0.0 else zero
                            i2 = i2 if w2 != 0.0 else zero
                            i3 = i3 if w3 != 0.0 else zero
                            i4 = i4 if w4 != 0.0 else zero
                        v1, v2, v3, v4 = table[i1], table[i2], table[i3], table[i4]
                        if first:  # a loop of its own: a select in the loop below would cost its load back
                            for ch in range(c):
                                acc[ch] = 0.0 + (w1 * v1[ch] + w2 * v2[ch] + w3 * v3[ch] + w4 * v4[ch])
                            first = False
                        else:
                            for ch in range(c):
                                acc[ch] += w1 * v1[ch] + w2 * v2[ch] + w3 * v3[ch] + w4 * v4[ch]
                if first:  # no sample added anything
                    acc[:] = 0.0
        write_bins(block, count, out[k], False)


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
    c0: int,
    buf: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Add the gradient of the rois ``ids`` from ``grad[K, C, PH, PW]`` into ``buf[N * H * W, M]``, channels ``[c0, c0 + M)``.

    The transpose of :func:`forward` in torchvision's order: every in-image sample adds
    ``grad * w / count`` (divided through :func:`over`: W2's backward 169 -> 118 ms) to each of its four corners (zero-weight ones too, so a NaN gradient
    reaches them, as in the C++ kernel), corner 1 to 4; out-of-image samples add nothing.
    Each channel's sums are independent of the others', so a channel range, in a buffer of its
    own, is a thread's share (parity.engine.threads) without changing a number.  The buffer holds
    only those channels, so that the innermost loops run from 0 (loops over ``range(c0, c1)`` take
    twice as long: numba cannot tell that such an index is never negative).
    """
    ph, pw = grad.shape[2:]
    m = buf.shape[1]
    g = np.empty(m)
    for j in range(len(ids)):
        k = ids[j]
        gh = (yoff[j + 1] - yoff[j]) // ph
        gw = (xoff[j + 1] - xoff[j]) // pw
        if gh <= 0 or gw <= 0:
            continue
        count = float(gh * gw)
        inverse = exact_inverse(count)
        base = batch[k] * h * w
        for p in range(ph):
            for q in range(pw):
                for ch in range(m):
                    g[ch] = grad[k, c0 + ch, p, q]
                for iy in range(gh):
                    y = ypos[yoff[j] + p * gh + iy]
                    for ix in range(gw):
                        x = xpos[xoff[j] + q * gw + ix]
                        i1, i2, i3, i4, w1, w2, w3, w4, inside = corners(y, x, h, w)
                        if not inside:
                            continue
                        r = buf[base + i1]
                        for ch in range(m):
                            r[ch] += over(g[ch] * w1, count, inverse)
                        r = buf[base + i2]
                        for ch in range(m):
                            r[ch] += over(g[ch] * w2, count, inverse)
                        r = buf[base + i3]
                        for ch in range(m):
                            r[ch] += over(g[ch] * w3, count, inverse)
                        r = buf[base + i4]
                        for ch in range(m):
                            r[ch] += over(g[ch] * w4, count, inverse)


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
        write_bins(block, count, out[k], False)
        write_bins(block_m, count, magnitude[k], not first)
        write_bins(block_s, count, slope[k], not first)


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
