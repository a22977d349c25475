"""What a RoIAlign kernel running in float16 returns: bounds on its serial float16 sum, bin by bin.

torchvision's and MindSpore's CPU kernels add a float16 bin's samples to a float16 running sum; past
about 2048 samples the sum stagnates and the average ends far below the exact value.  No single array
predicts such a kernel (its samples' last bits are its own), so :func:`float16_serial_interval` gives
``[lo, hi]`` bounds a kernel of that kind lands in: the prediction of the declared divergence
float16-accumulation-stagnation (parity.ops.roi_align.divergences.edge), judged with its own allowance.
Apart from the float64 reference because it is a different computation (float16 arithmetic,
emulated), on the same windows (parity.ops.roi_align.geometry).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from parity.engine.errors import InvalidInput
from parity.ops.roi_align.float16_kernel import float16_serial_sums
from parity.ops.roi_align.float16_kernel import sample_values as float16_sample_values
from parity.ops.roi_align.geometry import Convention, Window, as_pooled, as_rois, window
from parity.ops.roi_align.limits import SERIAL_LIMIT

_U16 = 2.0**-11
#: Roundings in one float16 sample value: four products and three adds of the bilinear weights.
_SAMPLE_ROUNDINGS16 = 8.0


def float16_serial_interval(
    features: np.ndarray,
    rois: np.ndarray,
    output_size: int | Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: Convention,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``[lo, hi]`` on what a kernel running in float16 returns, bin by bin.

    Such a kernel (torchvision's and MindSpore's CPU kernels for float16) adds each sample's
    bilinear value to a float16 running sum, rows of samples outer, columns inner, and divides
    by the sample count, itself a float16 (65520 samples or more: inf).  Once the sum is 2048
    times a sample, adding it changes nothing: the sum stagnates, and a bin of many samples ends
    far below its average.  Bounds make this a checkable prediction: each sample lies between its
    values at exact and at float16-rounded positions, widened by its own float16 roundings and
    rounded outward; the running sums of the lower and of the upper sample values are formed as
    the kernel forms its own (rounding is monotone), so a kernel of this kind lands inside
    ``[lo, hi]`` whatever its sample values' last bits are.
    """
    x = np.asarray(features, dtype=np.float64)
    r = as_rois(rois)
    ph, pw = as_pooled(output_size)
    n, c, h, w = x.shape
    lo = np.zeros((len(r), ph, pw, c), dtype=np.float64)
    hi = lo.copy()
    plans = [window(r, n, float(spatial_scale), convention, ph, pw, sampling_ratio, g) for g in ("float64", "float16")]
    exact, rounded = plans
    keys = np.stack([exact.grid_h, exact.grid_w, rounded.grid_h, rounded.grid_w], axis=1)
    for key in np.unique(keys, axis=0):
        k = np.flatnonzero(np.all(keys == key, axis=1))
        grids = {(int(key[0]), int(key[1])), (int(key[2]), int(key[3]))}
        # where float16 geometry changes the grid itself, the kernel runs one of the two grids:
        # the bounds are the union of each grid's bounds (its own plan's sample values)
        using = [(plans, g) for g in grids] if len(grids) == 1 else [([p], (int(p.grid_h[k[0]]), int(p.grid_w[k[0]]))) for p in plans]
        bounds = [_serial_bounds(x, group, k, gh, gw, (ph, pw), convention.empty_grid_nan) for group, (gh, gw) in using]
        lo[k] = np.minimum.reduce([b[0] for b in bounds])
        hi[k] = np.maximum.reduce([b[1] for b in bounds])
    return lo.transpose(0, 3, 1, 2), hi.transpose(0, 3, 1, 2)


def _serial_bounds(
    x: np.ndarray, plans: list[Window], k: np.ndarray, gh: int, gw: int, pooled: tuple[int, int], empty_nan: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the float16 serial sum over a ``gh`` x ``gw`` grid for rois ``k``, each sample
    between its values under ``plans`` (which share that grid), as float64 ``[K, PH, PW, C]``.

    An empty grid runs the loops zero times: its bins are 0, or with ``empty_nan`` (a kernel that
    divides by the count without a guard, Convention.empty_grid_nan) 0 / 0 = NaN.
    """
    ph, pw = pooled
    shape = (len(k), ph, pw, x.shape[1])
    if gh <= 0 or gw <= 0:
        empty = np.full(shape, np.nan if empty_nan and gh * gw == 0 else 0.0)
        return empty, empty.copy()
    if len(k) * ph * pw * gh * gw * x.shape[1] > SERIAL_LIMIT:
        raise InvalidInput(f"a float16 serial sum over {gh} x {gw} samples per bin is too large to emulate")
    both = [_sample_values(x, plan, k, gh, gw, pooled) for plan in plans]
    slack = _SAMPLE_ROUNDINGS16 * _U16 * np.maximum.reduce([m for _, m in both])
    v_lo = _round16(np.minimum.reduce([v for v, _ in both]) - slack, -1).astype(np.float32)
    v_hi = _round16(np.maximum.reduce([v for v, _ in both]) + slack, +1).astype(np.float32)
    count = np.float32(np.float16(gh * gw)) if gh * gw < 65520 else np.float32(np.inf)
    lo, hi = np.empty(shape), np.empty(shape)
    float16_serial_sums(np.ascontiguousarray(v_lo), np.ascontiguousarray(v_hi), count, lo, hi)
    return lo, hi


def serial_sums_numpy(v_lo: np.ndarray, v_hi: np.ndarray, count: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """What parity.ops.roi_align.float16_kernel.float16_serial_sums computes, with NumPy's own
    float16 (a loop over samples).

    Kept as the independent cross-check of the compiled loop (tests/test_float16_serial.py):
    NumPy's float32 -> float16 conversion is the rounding the compiled loop writes out by hand.
    Half arithmetic as c10 does it: the float32 result of two float16s, rounded to float16.
    Rounding is monotone, so sums of the lower (upper) sample values stay below (above) the
    kernel's own running sum at every step.
    """
    k, ph, gh, pw, gw, c = v_lo.shape
    s_lo = np.zeros((k, ph, pw, c), dtype=np.float16)
    s_hi = s_lo.copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for a in range(gh):
            for b in range(gw):
                s_lo = (s_lo.astype(np.float32) + v_lo[:, :, a, :, b, :]).astype(np.float16)
                s_hi = (s_hi.astype(np.float32) + v_hi[:, :, a, :, b, :]).astype(np.float16)
        return (s_lo.astype(np.float32) / count).astype(np.float16).astype(np.float64), (
            s_hi.astype(np.float32) / count
        ).astype(np.float16).astype(np.float64)


def _round16(v: np.ndarray, direction: int) -> np.ndarray:
    """``v`` rounded to float16 toward -inf (``direction`` -1) or +inf (+1), exactly."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.asarray(v, dtype=np.float64).astype(np.float16)
        rf = r.astype(np.float64)
        off = rf > v if direction < 0 else rf < v
    return np.where(off, np.nextafter(r, np.float16(direction * np.inf)), r)


def _sample_values(
    x: np.ndarray, plan: Window, k: np.ndarray, gh: int, gw: int, pooled: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's bilinear value and its magnitude (the same over |x|), ``[k, PH, gh, PW, gw, C]``;
    samples outside the image are 0, as in the C++ kernels (compiled:
    parity.ops.roi_align.float16_kernel.sample_values)."""
    ph, pw = pooled
    iy, wy, vy = _axis_corners(plan.y1[k], plan.bin_h[k], gh, ph, x.shape[2])  # [k, ph, gh, 2]
    ix, wx, vx = _axis_corners(plan.x1[k], plan.bin_w[k], gw, pw, x.shape[3])  # [k, pw, gw, 2]
    shape = (len(k), ph, gh, pw, gw, x.shape[1])
    values, magnitude = np.empty(shape), np.empty(shape)
    image = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    float16_sample_values(image, np.ascontiguousarray(plan.batch[k]), iy, wy, vy, ix, wx, vx, values, magnitude)
    return values, magnitude


def sample_values_numpy(
    x: np.ndarray, plan: Window, k: np.ndarray, gh: int, gw: int, pooled: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`_sample_values` computes, with NumPy gathers: the independent cross-check of the
    compiled loop (tests/test_float16_serial.py)."""
    n, c, h, w = x.shape
    ph, pw = pooled
    iy, wy, vy = _axis_corners(plan.y1[k], plan.bin_h[k], gh, ph, h)
    ix, wx, vx = _axis_corners(plan.x1[k], plan.bin_w[k], gw, pw, w)
    img = x[plan.batch[k]].transpose(0, 2, 3, 1)  # [k, H, W, C]
    kk = np.arange(len(k))[:, None, None, None, None, None, None]
    corners = img[kk, iy[:, :, :, :, None, None, None], ix[:, None, None, None, :, :, :]]  # [k, ph, gh, 2, pw, gw, 2, C]
    weights = (wy[:, :, :, :, None, None, None] * wx[:, None, None, None, :, :, :])[..., None]
    valid = (vy[:, :, :, None, None] & vx[:, None, None, :, :])[..., None]
    with np.errstate(invalid="ignore"):
        values = np.where(valid, (corners * weights).sum(axis=(3, 6)), 0.0)
        magnitude = np.where(valid, (np.abs(corners) * weights).sum(axis=(3, 6)), 0.0)
    return values, magnitude


def _axis_corners(
    start: np.ndarray, bins: np.ndarray, grid: int, pooled: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample positions along one axis -> corner indices, weights and in-image flags.

    Returns ``idx[k, p, g, 2]`` (low/high pixel), ``wt[k, p, g, 2]`` and ``valid[k, p, g]``,
    following the C++ bilinear rule: out-of-image samples (< -1 or > size) count as 0,
    coordinates are clamped to >= 0, and a sample at or past the last pixel reads it alone.
    """
    t = start.dtype.type
    p = np.arange(pooled, dtype=start.dtype)[None, :, None]
    g = np.arange(grid, dtype=start.dtype)[None, None, :]
    b = bins[:, None, None]
    v = (start[:, None, None] + p * b + (g + t(0.5)) * b / t(grid)).astype(np.float64)
    valid = ~((v < -1.0) | (v > size))
    v = np.maximum(v, 0.0)
    low = np.floor(v).astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    v = np.where(edge, low.astype(np.float64), v)
    frac = v - low
    return np.stack([low, high], axis=-1), np.stack([1.0 - frac, frac], axis=-1), valid

