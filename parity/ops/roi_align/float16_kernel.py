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
