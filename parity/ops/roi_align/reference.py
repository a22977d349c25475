"""Float64 reference RoIAlign: the oracle every framework is compared against.

The kernel follows the Detectron/Caffe2 RoIAlign that torchvision's C++ kernel implements
(``shared/design/roi_align.md`` section 1), parameterised by a :class:`Convention` that
captures how each framework turns a roi into a sampling window (section 2).

This module owns the geometry: rois -> sampling windows -> per-axis sample positions, computed
in the geometry dtype asked for (the roi scaling, bin sizes and sample steps of a kernel running
in float16 or float32).  The loops over samples, interpolation and averaging in float64, live in
:mod:`parity.ops.roi_align.kernel`, compiled, in torchvision's per-sample summation order: in float64 the two
agree bit for bit, and a NaN reaches exactly the bins it reaches in the C++ kernel (``nan_mode``).

The backward pass (:func:`roi_align_backward`) is the transpose of the same map.

Undefined and invalid inputs (a batch index outside the batch, non-finite roi coordinates)
raise :class:`parity.engine.errors.InvalidInput` instead of producing numbers: what a framework
does with them is a robustness question, not a parity one.

Memory: besides its inputs and result, a call holds one channels-last float64 copy of the
features (forward) or of the output gradient and the feature gradient (backward), and per-axis
sample positions (``K * (PH * gh + PW * gw)`` values, in batches of at most _POSITIONS).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from parity.ops.roi_align import kernel
from parity.engine.errors import InvalidInput

NanMode = Literal["kernel", "weighted"]

#: Sample positions computed at once, per axis (bounds memory for huge adaptive grids: ~50 MB).
_POSITIONS = 1 << 22


@dataclass(frozen=True)
class Convention:
    """How a roi ``(x1, y1, x2, y2)`` becomes a sampling window on the feature map.

    start = x1 * s - offset;  end = (x2 + end_pad) * s - offset;
    size  = max(end - start, min_size) when ``min_size`` is set, else end - start.
    Adaptive sampling (``sampling_ratio <= 0``) uses ``adaptive_grid(size / pooled)`` samples per
    bin side; ``empty_grid_nan`` divides an empty grid's zero sum by zero (NaN) instead of by 1;
    ``batch_index`` says how a fractional batch index picks an image (:func:`batch_indices`);
    ``outside_reads_origin`` makes an out-of-image sample read pixel (0, 0) with weight 0
    (so a NaN there reaches the bin, as in torchvision's C++ kernel); ``sum_limit`` turns a bin
    whose sum of samples exceeds it into +-inf (a kernel accumulating in float16); ``accumulate``
    = ``"float16"`` sums each bin's samples serially in float16 (:func:`float16_serial_interval`);
    ``skip_x_near_zero`` gives a roi whose x1 and x2 (as passed, before scaling) both lie strictly
    within that distance of 0 an empty grid: it samples nothing, its bins are 0 and it gets no
    gradient (MindSpore's kernels skip such a roi).  Those seven exist to state *predictions* for
    declared divergences (parity.ops.roi_align.divergence).  ``scale_dtype``
    is the documented type of ``spatial_scale`` (ONNX and Paddle declare it float32).
    """

    name: str
    offset: float
    end_pad: float
    min_size: float | None
    documented_by: str
    adaptive_grid: Literal["ceil", "floor"] = "ceil"
    empty_grid_nan: bool = False
    batch_index: Literal["trunc", "round"] = "trunc"  # how a fractional batch index picks an image (batch_indices)
    outside_reads_origin: bool = False  # an out-of-image sample reads pixel (0, 0) with weight 0
    sum_limit: float | None = None  # a bin whose sample sum exceeds this overflows to +-inf
    accumulate: Literal["exact", "float16"] = "exact"  # "float16": the serial sum of a kernel running in float16
    scale_dtype: Literal["float64", "float32"] = "float64"  # precision of the spatial_scale argument
    skip_x_near_zero: float | None = None  # rois with |x1| and |x2| below this sample nothing


TORCHVISION_UNALIGNED = Convention(
    "torchvision aligned=False", 0.0, 0.0, 1.0, "torchvision C++ kernel: no offset, size clamped to >= 1"
)
TORCHVISION_ALIGNED = Convention(
    "torchvision aligned=True", 0.5, 0.0, None, "torchvision C++ kernel / docs: -0.5 pixel shift, no clamp"
)
MINDSPORE_END_MODE_0 = Convention(
    "mindspore roi_end_mode=0",
    0.0,
    0.0,
    1.0,
    "MindSpore docs: 'legacy implementation', the same as torchvision aligned=False",
)
MINDSPORE_END_MODE_1 = Convention(
    "mindspore roi_end_mode=1",
    0.0,
    1.0,
    None,
    "MindSpore docs: end shifted by +1*spatial_scale; no size clamp (undocumented, decided from "
    "measurement: see parity.ops.roi_align.mapping.MINDSPORE_END_MODE_1_EVIDENCE)",
)

CONVENTIONS: dict[str, Convention] = {
    c.name: c for c in (TORCHVISION_UNALIGNED, TORCHVISION_ALIGNED, MINDSPORE_END_MODE_0, MINDSPORE_END_MODE_1)
}


def rois_from_boxes(boxes: Sequence[np.ndarray]) -> np.ndarray:
    """Convert torchvision's list-of-``[L, 4]`` boxes (one entry per image) to ``[K, 5]`` rois."""
    parts = []
    for image, box in enumerate(boxes):
        box = np.asarray(box, dtype=np.float64)
        if box.ndim != 2 or box.shape[1] != 4:
            raise InvalidInput(f"boxes[{image}] has shape {box.shape}; each entry must be [L, 4]")
        parts.append(np.concatenate([np.full((len(box), 1), image, np.float64), box], axis=1))
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, 5), np.float64)


def pooled_shape(output_size: int | Sequence[int]) -> tuple[int, int]:
    """Normalise torchvision's ``output_size`` (int or ``(h, w)``) to ``(PH, PW)``."""
    if isinstance(output_size, (int, np.integer)):
        return int(output_size), int(output_size)
    ph, pw = output_size
    return int(ph), int(pw)


def roi_align(
    features: np.ndarray,
    rois: np.ndarray | Sequence[np.ndarray],
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    convention: Convention = TORCHVISION_UNALIGNED,
    nan_mode: NanMode = "kernel",
    geometry_dtype: str = "float64",
) -> np.ndarray:
    """RoIAlign forward in float64: ``[N, C, H, W]`` features, rois -> ``[K, C, PH, PW]``.

    ``nan_mode="kernel"`` reads all four bilinear corners of an in-image sample, as the C++
    kernels do, so a NaN/Inf next to a sample reaches the output even with weight 0;
    ``"weighted"`` skips zero-weight corners (the mathematical definition).
    ``geometry_dtype`` computes the sampling positions (roi scaling, bin sizes, grid, sample
    steps) in a lower precision, as a kernel running in that dtype does; interpolation and
    averaging stay in float64.  It shows which samples rounding alone moves across a
    discontinuity (the image border, a grid-size step).
    """
    x = np.asarray(features)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.ndim != 4:
        raise InvalidInput(f"features must be [N, C, H, W]; got shape {x.shape}")
    r = _rois(rois)
    ph, pw = _pooled(output_size)
    n, c, h, w = x.shape
    out = np.zeros((len(r), c, ph, pw), dtype=np.float64)
    if out.size == 0:  # no rois, channels or bins: an empty result, as torchvision returns
        return out
    if convention.accumulate == "float16":  # the midpoint of what a float16 kernel can return
        lo, hi = float16_serial_interval(x, r, (ph, pw), spatial_scale, sampling_ratio, convention)
        with np.errstate(invalid="ignore"):
            return np.where(lo == hi, lo, (lo + hi) / 2)
    table = _channels_last(x) if h > 0 and w > 0 else None  # its last row: zeros, read by skipped corners
    return roi_align_channels_last(table, x.shape, r, (ph, pw), spatial_scale, sampling_ratio, convention, nan_mode, geometry_dtype)


def roi_align_channels_last(
    table: np.ndarray | None,
    features_shape: tuple[int, int, int, int],
    rois: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: Convention,
    nan_mode: NanMode = "kernel",
    geometry_dtype: str = "float64",
) -> np.ndarray:
    """:func:`roi_align` of features already laid out as a channels-last float64 table.

    ``table[N * H * W + 1, C]`` holds pixel ``(b, y, x)`` in row ``(b * H + y) * W + x`` and zeros
    in its last row (None when H or W is 0).  For callers that build their own table of derived
    values (parity.ops.roi_align.bounds.rounding_bound) instead of paying for a feature map and a transpose.
    """
    n, c, h, w = features_shape
    r = np.asarray(rois, dtype=np.float64)
    ph, pw = output_size
    out = np.zeros((len(r), c, ph, pw), dtype=np.float64)
    if out.size == 0:
        return out
    win, batches = _geometry(r, n, float(spatial_scale), convention, ph, pw, sampling_ratio, geometry_dtype)
    if table is not None and h > 0 and w > 0:
        if table.shape != (n * h * w + 1, c) or table.dtype != np.float64:
            raise InvalidInput(f"a channels-last table for {features_shape} must be float64 {(n * h * w + 1, c)}; got {table.shape}")
        for ids, ypos, yoff, xpos, xoff in batches:
            kernel.forward(table, h, w, win.batch, ids, ypos, yoff, xpos, xoff, nan_mode == "weighted",
                           convention.outside_reads_origin, out)
    if convention.empty_grid_nan:
        out[(win.grid_h * win.grid_w) == 0] = np.nan
    if convention.sum_limit is not None:
        total = out * np.maximum(win.grid_h * win.grid_w, 1)[:, None, None, None]
        with np.errstate(invalid="ignore"):
            out = np.where(np.abs(total) > convention.sum_limit, np.sign(total) * np.inf, out)
    return out


#: The float16 emulation holds at most this many sample values at once (it loops over samples).
SERIAL_LIMIT = 1 << 22
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
    r = _rois(rois)
    ph, pw = _pooled(output_size)
    n, c, h, w = x.shape
    lo = np.zeros((len(r), ph, pw, c), dtype=np.float64)
    hi = lo.copy()
    plans = [_window(r, n, float(spatial_scale), convention, ph, pw, sampling_ratio, g) for g in ("float64", "float16")]
    exact, rounded = plans
    keys = np.stack([exact.grid_h, exact.grid_w, rounded.grid_h, rounded.grid_w], axis=1)
    for key in np.unique(keys, axis=0):
        k = np.flatnonzero(np.all(keys == key, axis=1))
        grids = {(int(key[0]), int(key[1])), (int(key[2]), int(key[3]))}
        # where float16 geometry changes the grid itself, the kernel runs one of the two grids:
        # the bounds are the union of each grid's bounds (its own plan's sample values)
        using = [(plans, g) for g in grids] if len(grids) == 1 else [([p], (int(p.grid_h[k[0]]), int(p.grid_w[k[0]]))) for p in plans]
        bounds = [_serial_bounds(x, group, k, gh, gw, (ph, pw)) for group, (gh, gw) in using]
        lo[k] = np.minimum.reduce([b[0] for b in bounds])
        hi[k] = np.maximum.reduce([b[1] for b in bounds])
    return lo.transpose(0, 3, 1, 2), hi.transpose(0, 3, 1, 2)


def _serial_bounds(
    x: np.ndarray, plans: list[_Window], k: np.ndarray, gh: int, gw: int, pooled: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the float16 serial sum over a ``gh`` x ``gw`` grid for rois ``k``, each sample
    between its values under ``plans`` (which share that grid), as float64 ``[K, PH, PW, C]``."""
    ph, pw = pooled
    shape = (len(k), ph, pw, x.shape[1])
    if gh <= 0 or gw <= 0:
        return np.zeros(shape), np.zeros(shape)  # the loops run zero times: 0 / count
    if len(k) * ph * pw * gh * gw * x.shape[1] > SERIAL_LIMIT:
        raise InvalidInput(f"a float16 serial sum over {gh} x {gw} samples per bin is too large to emulate")
    both = [_sample_values(x, plan, k, gh, gw, pooled) for plan in plans]
    slack = _SAMPLE_ROUNDINGS16 * _U16 * np.maximum.reduce([m for _, m in both])
    v_lo = _round16(np.minimum.reduce([v for v, _ in both]) - slack, -1).astype(np.float32)
    v_hi = _round16(np.maximum.reduce([v for v, _ in both]) + slack, +1).astype(np.float32)
    # Half arithmetic as c10 does it: the float32 result of two float16s, rounded to float16.
    # Rounding is monotone, so sums of the lower (upper) sample values stay below (above) the
    # kernel's own running sum at every step.
    s_lo = np.zeros(shape, dtype=np.float16)
    s_hi = s_lo.copy()
    for a in range(gh):
        for b in range(gw):
            s_lo = (s_lo.astype(np.float32) + v_lo[:, :, a, :, b, :]).astype(np.float16)
            s_hi = (s_hi.astype(np.float32) + v_hi[:, :, a, :, b, :]).astype(np.float16)
    count = np.float32(np.float16(gh * gw)) if gh * gw < 65520 else np.float32(np.inf)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
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
    x: np.ndarray, plan: _Window, k: np.ndarray, gh: int, gw: int, pooled: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's bilinear value and its magnitude (the same over |x|), ``[k, PH, gh, PW, gw, C]``;
    samples outside the image are 0, as in the C++ kernels."""
    n, c, h, w = x.shape
    ph, pw = pooled
    iy, wy, vy = _axis_corners(plan.y1[k], plan.bin_h[k], gh, ph, h)  # [k, ph, gh, 2]
    ix, wx, vx = _axis_corners(plan.x1[k], plan.bin_w[k], gw, pw, w)  # [k, pw, gw, 2]
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


def roi_align_backward(
    grad_output: np.ndarray,
    features_shape: Sequence[int],
    rois: np.ndarray | Sequence[np.ndarray],
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    convention: Convention = TORCHVISION_UNALIGNED,
    geometry_dtype: str = "float64",
) -> np.ndarray:
    """Gradient of :func:`roi_align` w.r.t. the features, in float64: ``[K, C, PH, PW]`` -> ``[N, C, H, W]``.

    The forward is linear in the features, so this is its exact transpose: every sample hands
    ``grad * weight`` back to the pixels it read.  The rois get no gradient (as in torchvision).
    Like the C++ kernel, an in-image sample adds to all four of its corners, so a NaN in
    ``grad_output`` reaches zero-weight corners too.
    """
    shape = tuple(int(v) for v in features_shape)
    if len(shape) != 4 or min(shape) < 0:
        raise InvalidInput(f"features_shape must be [N, C, H, W]; got {features_shape!r}")
    n, c, h, w = shape
    r = _rois(rois)
    ph, pw = _pooled(output_size)
    g = np.asarray(grad_output, dtype=np.float64)
    if g.shape != (len(r), c, ph, pw):
        raise InvalidInput(f"grad_output must be [K, C, PH, PW] = {(len(r), c, ph, pw)}; got {g.shape}")
    if len(r) == 0 or c == 0 or h == 0 or w == 0 or ph == 0 or pw == 0:
        return np.zeros(shape, dtype=np.float64)
    win, batches = _geometry(r, n, float(spatial_scale), convention, ph, pw, sampling_ratio, geometry_dtype)
    buf = _scratch(n * h * w * c).reshape(n * h * w, c)
    buf[...] = 0.0
    for ids, ypos, yoff, xpos, xoff in batches:
        kernel.backward(np.ascontiguousarray(g), h, w, win.batch, ids, ypos, yoff, xpos, xoff, buf)
    out = np.empty(shape, dtype=np.float64)
    kernel.channels_first(buf, out)
    return out


def _rois(rois: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    r = rois_from_boxes(rois) if isinstance(rois, (list, tuple)) else np.asarray(rois, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5:
        raise InvalidInput(f"rois must be [K, 5] (batch_index, x1, y1, x2, y2); got shape {r.shape}")
    return r


def _pooled(output_size: int | Sequence[int]) -> tuple[int, int]:
    ph, pw = pooled_shape(output_size)
    if ph < 0 or pw < 0:
        raise InvalidInput(f"output_size must not be negative; got {(ph, pw)}")
    return ph, pw


class _Scratch:
    """One float64 buffer reused by every call of this process, grown as needed.

    On the VMs parity runs on, first touching fresh memory costs more than the arithmetic (a
    detection-sized channels-last table: ~1 s fresh, ~0.2 s reused), so the working copies live
    here.  It holds the largest table asked for so far until the process ends: one feature map's
    worth of float64 (W4: 445 MB).
    """

    def __init__(self) -> None:
        self.buffer = np.empty(0)

    def __call__(self, size: int) -> np.ndarray:
        if size > self.buffer.size:
            self.buffer = np.empty(0)  # free the old one before touching the new one
            self.buffer = np.empty(size)
        return self.buffer[:size]


_scratch = _Scratch()


def _channels_last(x: np.ndarray) -> np.ndarray:
    """``x[N, C, H, W]`` as a float64 ``[N * H * W + 1, C]`` table, last row zeros, in the scratch buffer."""
    n, c, h, w = x.shape
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)  # float16 and friends: exact in float64, and compiled once
    table = _scratch((n * h * w + 1) * c).reshape(n * h * w + 1, c)
    table[-1] = 0.0
    kernel.channels_last(np.ascontiguousarray(x), table)
    return table


_Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
#: Recent geometries: a case evaluates the same rois under the same window rules several times
#: (result, rounding bound, gradient and its bound), and on small cases the geometry costs more
#: than the sampling loops.
_GEOMETRIES: dict[tuple, tuple[_Window, list[_Batch]]] = {}
_GEOMETRIES_KEPT = 8
#: Geometries with more sample positions than this are not kept (their loops dwarf them).
_GEOMETRY_KEPT_POSITIONS = 1 << 16


def _geometry(
    r: np.ndarray, n: int, s: float, conv: Convention, ph: int, pw: int, sampling_ratio: int, geometry_dtype: str
) -> tuple[_Window, list[_Batch]]:
    """The windows and sample-position batches of ``r``, from the few kept or computed afresh.

    Keyed by the roi values and by what shapes a window (not by the convention's other rules).
    """
    rules = (conv.offset, conv.end_pad, conv.min_size, conv.adaptive_grid, conv.batch_index, conv.scale_dtype, conv.skip_x_near_zero)
    dtype = geometry_dtype if isinstance(geometry_dtype, str) else np.dtype(geometry_dtype).name
    key = (r.shape, r.tobytes(), n, s, rules, ph, pw, int(sampling_ratio), dtype)
    found = _GEOMETRIES.get(key)
    if found is None:
        win = _window(r, n, s, conv, ph, pw, sampling_ratio, geometry_dtype)
        found = (win, list(_positions(win, ph, pw)))
        if sum(len(b[1]) + len(b[3]) for b in found[1]) <= _GEOMETRY_KEPT_POSITIONS:
            if len(_GEOMETRIES) >= _GEOMETRIES_KEPT:
                del _GEOMETRIES[next(iter(_GEOMETRIES))]
            _GEOMETRIES[key] = found
    return found


def _positions(win: _Window, ph: int, pw: int) -> Iterator[_Batch]:
    """Batches of rois with their sample positions as :func:`parity.ops.roi_align.kernel.forward` reads them.

    Yields ``(ids, ypos, yoff, xpos, xoff)``: roi ``ids[j]`` samples rows ``ypos[yoff[j]:yoff[j+1]]``
    (bin row by bin row) and columns ``xpos[xoff[j]:xoff[j+1]]``.  Rois whose grid is empty are
    left out (the C++ sampling loops run zero times: their bins stay 0).
    """
    live = np.flatnonzero((win.grid_h > 0) & (win.grid_w > 0))
    size = ph * win.grid_h[live] + pw * win.grid_w[live]
    if int(size.sum()) <= _POSITIONS:
        cuts = [(0, len(live))] if len(live) else []
    else:
        batch_of = (np.cumsum(size) - size) // _POSITIONS
        starts = np.flatnonzero(np.concatenate([[True], batch_of[1:] != batch_of[:-1]]))
        cuts = list(zip(starts, [*starts[1:], len(live)]))
    for lo, hi in cuts:
        ids = live[lo:hi]
        ypos, yoff = _axis_positions(win.y1[ids], win.bin_h[ids], win.grid_h[ids], ph)
        xpos, xoff = _axis_positions(win.x1[ids], win.bin_w[ids], win.grid_w[ids], pw)
        yield ids, ypos, yoff, xpos, xoff


def _axis_positions(start: np.ndarray, bins: np.ndarray, grid: np.ndarray, pooled: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample positions along one axis, ``start + p * bin + (i + 0.5) * bin / grid`` for bin p, sample i.

    Computed in the dtype of ``start`` (the geometry dtype), in the C++ kernel's order of
    operations, then widened to float64; flattened roi by roi with offsets.
    """
    t = start.dtype.type
    counts = pooled * grid
    offsets = np.zeros(len(start) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    roi = np.repeat(np.arange(len(start)), counts)
    j = np.arange(int(offsets[-1])) - offsets[roi]
    g = grid[roi]
    p, i = j // g, j % g
    b = bins[roi]
    v = start[roi] + p.astype(start.dtype) * b + (i.astype(start.dtype) + t(0.5)) * b / g.astype(start.dtype)
    return v.astype(np.float64), offsets


def sampling_grid(
    rois: np.ndarray,
    batch: int,
    output_size: int | Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: Convention,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per roi: samples per bin side ``(gh, gw)`` and the largest |coordinate| of its window.

    Used to bound what rounding can do to a result (parity.ops.roi_align.bounds.rounding_bound).
    """
    r = np.asarray(rois, dtype=np.float64)
    ph, pw = pooled_shape(output_size)
    win, _ = _geometry(r, batch, float(spatial_scale), convention, ph, pw, sampling_ratio, "float64")
    corners = np.stack([win.x1, win.y1, win.x1 + win.bin_w * pw, win.y1 + win.bin_h * ph])
    reach = np.abs(corners).max(axis=0).astype(np.float64)
    return win.grid_h, win.grid_w, reach


@dataclass(frozen=True)
class _Window:
    """Per-roi sampling windows in feature-map coordinates (arrays of length K, in the geometry dtype)."""

    batch: np.ndarray
    y1: np.ndarray
    x1: np.ndarray
    bin_h: np.ndarray
    bin_w: np.ndarray
    grid_h: np.ndarray
    grid_w: np.ndarray


def batch_indices(b: np.ndarray, conv: Convention) -> np.ndarray:
    """The image each roi reads, from its float batch index.

    ``"trunc"``: torchvision's C cast (0.7 -> 0, -0.9 -> 0).  ``"round"``: MindSpore's CPU kernel,
    ``rintf(roi[0] + 0.00007)``: the sum in double, rounded to float, then to the nearest integer
    with ties to even, so 0.5 -> 1, 2.5 -> 3 and 0.49995 -> 1 (measured on mindspore 2.10.0).
    """
    b = np.asarray(b, dtype=np.float64)
    if conv.batch_index == "trunc":
        return np.trunc(b)
    return np.rint((b + 0.00007).astype(np.float32)).astype(np.float64)


def _window(
    r: np.ndarray,
    n: int,
    s: float,
    conv: Convention,
    ph: int,
    pw: int,
    sampling_ratio: int,
    geometry_dtype: str = "float64",
) -> _Window:
    if not np.all(np.isfinite(r)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(r), axis=1))[0])
        raise InvalidInput(f"roi {bad} has a non-finite value {r[bad].tolist()}; the result is undefined")
    batch = batch_indices(r[:, 0], conv)
    outside = (batch < 0) | (batch >= n)
    if outside.any():
        bad = int(np.flatnonzero(outside)[0])
        raise InvalidInput(f"roi {bad} has batch index {float(r[bad, 0])!r}, outside the batch of {n} images")
    t = np.dtype(geometry_dtype).type
    g = r.astype(geometry_dtype)
    s = float(np.float32(s)) if conv.scale_dtype == "float32" else s
    scale, offset, pad = t(s), t(conv.offset), t(conv.end_pad)
    x1 = g[:, 1] * scale - offset
    y1 = g[:, 2] * scale - offset
    x2 = (g[:, 3] + pad) * scale - offset
    y2 = (g[:, 4] + pad) * scale - offset
    rw, rh = x2 - x1, y2 - y1
    if conv.min_size is not None:
        rw, rh = np.maximum(rw, t(conv.min_size)), np.maximum(rh, t(conv.min_size))
    bin_h, bin_w = rh / t(ph), rw / t(pw)
    # a skipped roi is skipped before its grid is sized (as in MindSpore's kernel), so a window too
    # large to sample does not make a roi that samples nothing unevaluable
    skipped = np.zeros(len(r), bool)
    if conv.skip_x_near_zero is not None:
        skipped = (np.abs(r[:, 1]) < conv.skip_x_near_zero) & (np.abs(r[:, 3]) < conv.skip_x_near_zero)
    if sampling_ratio > 0:
        grid_h = np.full(len(r), sampling_ratio, np.int64)
        grid_w = grid_h
    else:
        grid_h, grid_w = np.zeros(len(r), np.int64), np.zeros(len(r), np.int64)
        grid_h[~skipped], grid_w[~skipped] = _grid(rh[~skipped] / t(ph), conv), _grid(rw[~skipped] / t(pw), conv)
    grid_h, grid_w = np.where(skipped, 0, grid_h), np.where(skipped, 0, grid_w)
    return _Window(batch.astype(np.int64), y1, x1, bin_h, bin_w, grid_h, grid_w)


def _grid(bins: np.ndarray, conv: Convention) -> np.ndarray:
    limit = 1 << 20
    if np.any(np.abs(bins.astype(np.float64)) > limit):
        raise InvalidInput(f"adaptive sampling would need {math.ceil(float(np.max(bins)))} samples per bin side")
    rounded = np.ceil(bins) if conv.adaptive_grid == "ceil" else np.floor(bins)
    return rounded.astype(np.float64).astype(np.int64)
