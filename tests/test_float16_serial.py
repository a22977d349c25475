"""The compiled float16 serial sum against NumPy's own float16 arithmetic (the slow loop kept for this).

NumPy's float32 -> float16 conversion is independent of the compiled rounding written out by hand
(parity.ops.roi_align.float16_kernel._half); both must give the same lo/hi bit for bit, NaN where
NumPy has NaN (payloads aside), including overflow to inf, subnormals and ties.
"""
from __future__ import annotations

import numpy as np
import pytest

from parity.ops.roi_align import float16_kernel as kernel16
from parity.ops.roi_align import float16_serial as f16


def _both(v_lo: np.ndarray, v_hi: np.ndarray, count: np.float32) -> None:
    slow = f16.serial_sums_numpy(v_lo, v_hi, count)
    shape = (v_lo.shape[0], v_lo.shape[1], v_lo.shape[3], v_lo.shape[5])
    lo, hi = np.empty(shape), np.empty(shape)
    kernel16.float16_serial_sums(np.ascontiguousarray(v_lo), np.ascontiguousarray(v_hi), count, lo, hi)
    for want, got in zip(slow, (lo, hi)):
        nan = np.isnan(want)
        assert np.array_equal(nan, np.isnan(got))
        assert np.array_equal(want[~nan].view(np.uint64), got[~nan].view(np.uint64))


@pytest.mark.parametrize("seed", range(12))
def test_compiled_sums_match_numpy_float16(seed):
    rng = np.random.default_rng(seed)
    k, ph, pw, c = (int(n) for n in rng.integers(1, 4, 4))
    gh, gw = int(rng.choice([1, 3, 47, 64])), int(rng.choice([1, 2, 50]))
    scale = [1e-7, 1e-4, 1.0, 30.0, 2e3, 3e4, 9e4][seed % 7]
    v = (rng.standard_normal((k, ph, gh, pw, gw, c)) * scale).astype(np.float32)
    if seed % 2:
        v.flat[rng.integers(0, v.size, 3)] = [np.nan, np.inf, -np.inf]
    count = np.float32(np.float16(gh * gw)) if seed % 5 else np.float32(np.inf)
    with np.errstate(invalid="ignore"):
        v_hi = v + np.abs(v)
    _both(v, v_hi, count)


def test_compiled_sums_overflow_to_inf_and_nan():
    """40000 + 40000 passes float16's largest value (65504): inf; inf - inf: NaN."""
    v_lo = np.float32([40000, 40000, 1]).reshape(1, 1, 1, 1, 3, 1)
    v_hi = np.float32([40000, 40000, -np.inf]).reshape(1, 1, 1, 1, 3, 1)
    lo, hi = np.empty((1, 1, 1, 1)), np.empty((1, 1, 1, 1))
    kernel16.float16_serial_sums(v_lo, v_hi, np.float32(3), lo, hi)
    assert lo[0, 0, 0, 0] == np.inf and np.isnan(hi[0, 0, 0, 0])
    _both(v_lo, v_hi, np.float32(3))


def test_compiled_rounding_matches_numpy_on_ties_and_edges():
    """Every float16 midpoint (ties round to even), their float32 neighbours, and the overflow edge."""
    h = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float32)
    mids = ((h[:-1].astype(np.float64) + h[1:]) / 2).astype(np.float32)
    near = np.concatenate([mids, np.nextafter(mids, np.float32(0)), np.nextafter(mids, np.float32(np.inf)),
                           np.float32([65504, 65519.996, 65520, 65536, 1e30, 2.0**-25, 2.0**-26, 3 * 2.0**-25])])
    t = np.concatenate([near, -near])
    with np.errstate(over="ignore"):
        want = t.astype(np.float16).astype(np.float32)
    got = np.array([kernel16._half(np.float32(x)) for x in t], dtype=np.float32)
    assert np.array_equal(want.view(np.uint32), got.view(np.uint32))


def test_compiled_sums_stagnate_as_float16_does():
    """Hand computation: 4096 samples of 1.0 in float16 stop at 2048 (2048 + 1 rounds back to even)."""
    v = np.ones((1, 1, 64, 1, 64, 1), np.float32)
    lo, hi = np.empty((1, 1, 1, 1)), np.empty((1, 1, 1, 1))
    kernel16.float16_serial_sums(v, v, np.float32(4096), lo, hi)
    assert lo[0, 0, 0, 0] == hi[0, 0, 0, 0] == 0.5


@pytest.mark.parametrize("seed", range(8))
def test_compiled_sample_values_match_numpy_gathers(seed):
    """Each sample's value and magnitude, compiled, against the NumPy gathers kept for this: in and
    out of the image, both geometries, NaN and Inf in the features; equal up to float64 rounding of
    the four-term sum (NumPy's order of the terms varies with the shape)."""
    from parity.ops.roi_align.geometry import window
    from parity.ops.roi_align.reference import TORCHVISION_UNALIGNED

    rng = np.random.default_rng(seed)
    n, c, h, w = 2, int(rng.integers(1, 5)), int(rng.integers(2, 12)), int(rng.integers(2, 12))
    x = rng.standard_normal((n, c, h, w)) * 10.0 ** rng.integers(-3, 4)
    if seed % 2:
        x.flat[rng.integers(0, x.size, 2)] = [np.nan, np.inf]
    k = int(rng.integers(1, 5))
    xs, ys = np.sort(rng.uniform(-3, w + 3, (k, 2)), 1), np.sort(rng.uniform(-3, h + 3, (k, 2)), 1)
    rois = np.column_stack([rng.integers(0, n, k), xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]]).astype(np.float64)
    gh, gw, pooled = int(rng.integers(1, 5)), int(rng.integers(1, 5)), (2, 3)
    for geometry_dtype in ("float64", "float16"):
        plan = window(rois, n, 1.0, TORCHVISION_UNALIGNED, *pooled, 2, geometry_dtype)
        ids = np.arange(k)
        compiled = f16._sample_values(x, plan, ids, gh, gw, pooled)
        slow = f16.sample_values_numpy(x, plan, ids, gh, gw, pooled)
        for got, want in zip(compiled, slow):
            assert got.shape == want.shape == (k, pooled[0], gh, pooled[1], gw, c)
            nan = np.isnan(want)
            assert np.array_equal(nan, np.isnan(got))
            assert np.array_equal(got[np.isinf(want)], want[np.isinf(want)])
            finite = np.isfinite(want)
            assert np.all(np.abs(got[finite] - want[finite]) <= 4 * np.finfo(np.float64).eps * np.abs(slow[1][finite]))
