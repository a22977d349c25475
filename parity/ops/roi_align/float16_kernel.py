"""The compiled loop of the float16 serial-sum emulation (parity.ops.roi_align.float16_serial).

A module of its own, apart from parity.ops.roi_align.float16_serial, so that the mutation tests'
copies of that module (parity.ops.roi_align.mutants, which compile nothing unless a mutant edits
it) keep using this compiled, disk-cached loop.  Compiled by numba on first use and cached on disk
like parity.ops.roi_align.kernel; single-threaded.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def float16_serial_sums(  # pragma: no cover - compiled
    v_lo: np.ndarray, v_hi: np.ndarray, count: np.float32, lo: np.ndarray, hi: np.ndarray
) -> None:
    """The serial float16 sums of ``v_lo`` and ``v_hi`` (float32 ``[K, PH, gh, PW, gw, C]``) over
    each bin's samples, rows outer, columns inner, divided by ``count``, into ``lo``/``hi``
    (float64 ``[K, PH, PW, C]``).

    Half arithmetic as c10 does it: the float32 result of two float16s, rounded to float16
    (:func:`_half`).  Rounding is monotone, so sums of the lower (upper) sample values stay
    below (above) the kernel's own running sum at every step.  Compiled (numba, single-threaded,
    like parity.ops.roi_align.kernel): the NumPy loop
    (parity.ops.roi_align.float16_serial.serial_sums_numpy) built two
    arrays per sample; the results are the same bit for bit (NaN payloads aside).
    """
    k, ph, gh, pw, gw, c = v_lo.shape
    for r in range(k):
        for i in range(ph):
            for j in range(pw):
                for ch in range(c):
                    s_lo = np.float32(0.0)
                    s_hi = np.float32(0.0)
                    for a in range(gh):
                        for b in range(gw):
                            s_lo = _half(s_lo + v_lo[r, i, a, j, b, ch])
                            s_hi = _half(s_hi + v_hi[r, i, a, j, b, ch])
                    lo[r, i, j, ch] = _half(s_lo / count)
                    hi[r, i, j, ch] = _half(s_hi / count)


@njit(cache=True, nogil=True, error_model="numpy")
def _half(t: np.float32) -> np.float32:  # pragma: no cover - compiled
    """``t`` rounded to the nearest float16 (ties to even), as IEEE 754 converts a float32.

    Normal float16s carry 11 significant bits, so the quantum of ``|t|`` in ``[2^e, 2^(e+1))`` is
    ``2^(e-10)``; below 2^-14 (subnormals) it is 2^-24; from 65520 on the result is inf.  ``|t|`` over
    its quantum is exact in float64, so one rint rounds as the conversion does.
    """
    v = np.float64(t)
    if v != v:
        return t
    a = abs(v)
    if a >= 65520.0:
        return np.float32(math.copysign(math.inf, v))
    if a < 2.0**-14:
        q = 2.0**-24
    else:
        e = math.frexp(a)[1]  # a = m * 2^e, 0.5 <= m < 1
        q = math.ldexp(1.0, e - 11)
    return np.float32(math.copysign(np.rint(a / q) * q, v))


@njit(cache=True, nogil=True)
def sample_values(  # pragma: no cover - compiled
    image: np.ndarray,
    batch: np.ndarray,
    iy: np.ndarray,
    wy: np.ndarray,
    vy: np.ndarray,
    ix: np.ndarray,
    wx: np.ndarray,
    vx: np.ndarray,
    values: np.ndarray,
    magnitude: np.ndarray,
) -> None:
    """Each sample's bilinear value and magnitude into ``values`` / ``magnitude`` (``[K, PH, gh, PW, gw, C]``).

    ``image`` is the features channels-last (``[N, H, W, C]``, float64), ``batch`` each roi's image;
    per axis, ``iy[K, PH, gh, 2]`` are the low and high corner rows, ``wy`` their weights and
    ``vy[K, PH, gh]`` whether the sample lies in the image (columns alike).  A sample in the image
    is ``w00 * v00 + w01 * v01 + w10 * v10 + w11 * v11`` (all four corners: a NaN next to it
    reaches it even with weight 0, as in the C++ kernels), its magnitude the same over ``|v|``; one
    outside is 0.  The NumPy form (parity.ops.roi_align.float16_serial.sample_values_numpy) built
    the ``[K, PH, gh, 2, PW, gw, 2, C]`` corner array and took 50 ms per stagnation case of the
    standard suite; the numbers agree to the last bits of float64 (NumPy's summation order of the
    four corners changes with the array's shape), far inside the float16 roundings the bounds add.
    """
    k, ph, gh, _ = iy.shape
    pw, gw = ix.shape[1], ix.shape[2]
    c = image.shape[3]
    for r in range(k):
        im = image[batch[r]]
        for p in range(ph):
            for a in range(gh):
                y0, y1 = iy[r, p, a, 0], iy[r, p, a, 1]
                hy, ly = wy[r, p, a, 0], wy[r, p, a, 1]
                for q in range(pw):
                    for b in range(gw):
                        out = values[r, p, a, q, b]
                        mag = magnitude[r, p, a, q, b]
                        if not (vy[r, p, a] and vx[r, q, b]):
                            out[:] = 0.0
                            mag[:] = 0.0
                            continue
                        x0, x1 = ix[r, q, b, 0], ix[r, q, b, 1]
                        hx, lx = wx[r, q, b, 0], wx[r, q, b, 1]
                        w00, w01, w10, w11 = hy * hx, hy * lx, ly * hx, ly * lx
                        v00, v01, v10, v11 = im[y0, x0], im[y0, x1], im[y1, x0], im[y1, x1]
                        for ch in range(c):
                            out[ch] = w00 * v00[ch] + w01 * v01[ch] + w10 * v10[ch] + w11 * v11[ch]
                            mag[ch] = w00 * abs(v00[ch]) + w01 * abs(v01[ch]) + w10 * abs(v10[ch]) + w11 * abs(v11[ch])
