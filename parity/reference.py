"""Float64 reference RoIAlign: the oracle every framework is compared against.

The kernel follows the Detectron/Caffe2 RoIAlign that torchvision's C++ kernel implements
(``shared/design/roi_align.md`` section 1), parameterised by a :class:`Convention` that
captures how each framework turns a roi into a sampling window (section 2).

Why a gather formulation: every output bin is a weighted sum of at most
``4 * gh * gw`` feature pixels.  For each roi we build, fully vectorized, the flat indices
of those pixels in a channels-last copy of the features and the matching weights; one
gather plus one batched matrix product then yields every channel at once.  The same plan
(indices + weights) is the exact linear map of the forward pass, so its transpose is the
backward pass.

Undefined and invalid inputs (a batch index outside the batch, non-finite roi coordinates)
raise :class:`parity.errors.InvalidInput` instead of producing numbers: what a framework
does with them is a robustness question, not a parity one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from parity.errors import InvalidInput

NanMode = Literal["kernel", "weighted"]

#: Upper bound on gathered elements per chunk of rois (keeps peak memory ~100 MB).
_CHUNK_ELEMENTS = 1 << 23


@dataclass(frozen=True)
class Convention:
    """How a roi ``(x1, y1, x2, y2)`` becomes a sampling window on the feature map.

    start = x1 * s - offset;  end = (x2 + end_pad) * s - offset;
    size  = max(end - start, min_size) when ``min_size`` is set, else end - start.
    Adaptive sampling (``sampling_ratio <= 0``) uses ``adaptive_grid(size / pooled)`` samples per
    bin side; ``empty_grid_nan`` divides an empty grid's zero sum by zero (NaN) instead of by 1.
    The last two exist to state *predictions* for declared divergences (parity.divergence).
    """

    name: str
    offset: float
    end_pad: float
    min_size: float | None
    documented_by: str
    adaptive_grid: Literal["ceil", "floor"] = "ceil"
    empty_grid_nan: bool = False


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
    "measurement: see parity.mapping.MINDSPORE_END_MODE_1_EVIDENCE)",
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
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 4:
        raise InvalidInput(f"features must be [N, C, H, W]; got shape {x.shape}")
    r = rois_from_boxes(rois) if isinstance(rois, (list, tuple)) else np.asarray(rois, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5:
        raise InvalidInput(f"rois must be [K, 5] (batch_index, x1, y1, x2, y2); got shape {r.shape}")
    ph, pw = pooled_shape(output_size)
    if ph <= 0 or pw <= 0:
        raise InvalidInput(f"output_size must be positive; got {(ph, pw)}")
    n, c, h, w = x.shape
    out = np.zeros((len(r), ph, pw, c), dtype=np.float64)
    if len(r) == 0 or c == 0:
        return out.transpose(0, 3, 1, 2)
    plan = _window(r, n, float(spatial_scale), convention, ph, pw, sampling_ratio, geometry_dtype)
    if convention.empty_grid_nan:
        out[(plan.grid_h * plan.grid_w) == 0] = np.nan
    # Channels-last copy with one extra all-zero pixel: samples that must not read the
    # image (outside it, or zero-weight corners in "weighted" mode) point there.
    table = np.zeros((n * h * w + 1, c), dtype=np.float64)
    table[:-1] = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
    zero_row = n * h * w
    for (gh, gw), members in plan.groups().items():
        if gh <= 0 or gw <= 0:
            continue  # the C++ sampling loops run zero times: the bin stays 0
        samples = ph * pw * gh * gw * 4
        step = max(1, _CHUNK_ELEMENTS // max(1, samples * c))
        for start in range(0, len(members), step):
            k = members[start : start + step]
            idx, wts = _sampling_plan(plan, k, gh, gw, (ph, pw, h, w), zero_row, nan_mode)
            gathered = table[idx]  # [k, ph, pw, S, C]
            out[k] = np.matmul(wts[..., None, :], gathered)[..., 0, :]
    return out.transpose(0, 3, 1, 2)


def sampling_grid(
    rois: np.ndarray,
    batch: int,
    output_size: int | Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: Convention,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per roi: samples per bin side ``(gh, gw)`` and the largest |coordinate| of its window.

    Used to bound what rounding can do to a result (parity.compare.rounding_bound).
    """
    r = np.asarray(rois, dtype=np.float64)
    ph, pw = pooled_shape(output_size)
    win = _window(r, batch, float(spatial_scale), convention, ph, pw, sampling_ratio)
    reach = np.maximum.reduce(
        [np.abs(win.x1), np.abs(win.y1), np.abs(win.x1 + win.bin_w * pw), np.abs(win.y1 + win.bin_h * ph)]
    ).astype(np.float64)
    return win.grid_h, win.grid_w, reach


@dataclass(frozen=True)
class _Window:
    """Per-roi sampling windows in feature-map coordinates (float64 arrays of length K)."""

    batch: np.ndarray
    y1: np.ndarray
    x1: np.ndarray
    bin_h: np.ndarray
    bin_w: np.ndarray
    grid_h: np.ndarray
    grid_w: np.ndarray

    def groups(self) -> dict[tuple[int, int], np.ndarray]:
        """Rois grouped by sampling grid, so each group vectorizes over a fixed grid."""
        keys = np.stack([self.grid_h, self.grid_w], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        return {(int(a), int(b)): np.flatnonzero(inverse.ravel() == i) for i, (a, b) in enumerate(uniq)}


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
    batch = np.trunc(r[:, 0])  # torchvision: C cast of the float batch index
    outside = (batch < 0) | (batch >= n)
    if outside.any():
        bad = int(np.flatnonzero(outside)[0])
        raise InvalidInput(f"roi {bad} has batch index {r[bad, 0]!r}, outside the batch of {n} images")
    t = np.dtype(geometry_dtype).type
    g = r.astype(geometry_dtype)
    scale, offset, pad = t(s), t(conv.offset), t(conv.end_pad)
    x1 = g[:, 1] * scale - offset
    y1 = g[:, 2] * scale - offset
    x2 = (g[:, 3] + pad) * scale - offset
    y2 = (g[:, 4] + pad) * scale - offset
    rw, rh = x2 - x1, y2 - y1
    if conv.min_size is not None:
        rw, rh = np.maximum(rw, t(conv.min_size)), np.maximum(rh, t(conv.min_size))
    bin_h, bin_w = rh / t(ph), rw / t(pw)
    if sampling_ratio > 0:
        grid_h = np.full(len(r), sampling_ratio, np.int64)
        grid_w = grid_h
    else:
        grid_h, grid_w = _grid(rh / t(ph), conv), _grid(rw / t(pw), conv)
    return _Window(batch.astype(np.int64), y1, x1, bin_h, bin_w, grid_h, grid_w)


def _grid(bins: np.ndarray, conv: Convention) -> np.ndarray:
    limit = 1 << 20
    if np.any(np.abs(bins.astype(np.float64)) > limit):
        raise InvalidInput(f"adaptive sampling would need {math.ceil(float(np.max(bins)))} samples per bin side")
    rounded = np.ceil(bins) if conv.adaptive_grid == "ceil" else np.floor(bins)
    return rounded.astype(np.float64).astype(np.int64)


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
    idx = np.stack([low, high], axis=-1)
    wt = np.stack([1.0 - frac, frac], axis=-1)
    return idx, wt, valid


def _sampling_plan(
    win: _Window,
    k: np.ndarray,
    gh: int,
    gw: int,
    dims: tuple[int, int, int, int],
    zero_row: int,
    nan_mode: NanMode,
) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel indices ``[k, ph, pw, S]`` and weights ``[k, ph, pw, S]`` (S = gh*2*gw*2)."""
    ph, pw, h, w = dims
    iy, wy, vy = _axis_corners(win.y1[k], win.bin_h[k], gh, ph, h)
    ix, wx, vx = _axis_corners(win.x1[k], win.bin_w[k], gw, pw, w)
    # axes: k, ph, gh, cy, pw, gw, cx
    rows = (win.batch[k][:, None, None, None] * h + iy)[:, :, :, :, None, None, None]
    idx = rows * w + ix[:, None, None, None, :, :, :]
    wts = wy[:, :, :, :, None, None, None] * wx[:, None, None, None, :, :, :] / max(gh * gw, 1)
    valid = vy[:, :, :, None, None, None, None] & vx[:, None, None, None, :, :, None]
    skip = ~valid if nan_mode == "kernel" else ~valid | (wts == 0.0)
    idx = np.where(skip, zero_row, idx)
    wts = np.where(skip, 0.0, wts)
    order = (0, 1, 4, 2, 3, 5, 6)
    shape = (len(k), ph, pw, gh * 2 * gw * 2)
    return idx.transpose(order).reshape(shape), wts.transpose(order).reshape(shape)
