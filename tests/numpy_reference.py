"""A slow, plain-NumPy per-sample RoIAlign: an independent cross-check of the compiled kernel.

It shares only the roi -> window step with parity.ops.roi_align.reference (``geometry.window``, checked against
torchvision by the tests); sample positions, the bilinear rule, NaN reach and the averaging are
written again here as whole-array gathers, in a different summation order (a weighted dot product
per bin), so agreement to ~1e-12 says the loops of parity.ops.roi_align.kernel do what this says.
"""
from __future__ import annotations

import numpy as np

from parity.ops.roi_align import geometry


def axis_corners(start, bins, grid, pooled, size):
    """Per axis: corner indices ``[k, p, g, 2]``, weights ``[k, p, g, 2]``, in-image flags ``[k, p, g]``."""
    t = start.dtype.type
    p = np.arange(pooled, dtype=start.dtype)[None, :, None]
    g = np.arange(grid, dtype=start.dtype)[None, None, :]
    b = bins[:, None, None]
    v = (start[:, None, None] + p * b + (g + t(0.5)) * b / t(grid)).astype(np.float64)
    valid = (v >= -1.0) & (v <= size)
    v = np.maximum(v, 0.0)
    low = np.floor(np.where(valid, v, 0.0)).astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    v = np.where(edge, low.astype(np.float64), v)
    frac = v - low
    return np.stack([low, high], -1), np.stack([1.0 - frac, frac], -1), valid


def _plan(win, k, gh, gw, ph, pw, h, w, dump, nan_mode, origin):
    iy, wy, vy = axis_corners(win.y1[k], win.bin_h[k], gh, ph, h)
    ix, wx, vx = axis_corners(win.x1[k], win.bin_w[k], gw, pw, w)
    # axes: k, ph, gh, cy, pw, gw, cx
    rows = (win.batch[k][:, None, None, None] * h + iy)[:, :, :, :, None, None, None]
    idx = rows * w + ix[:, None, None, None, :, :, :]
    wts = wy[:, :, :, :, None, None, None] * wx[:, None, None, None, :, :, :] / (gh * gw)
    valid = vy[:, :, :, None, None, None, None] & vx[:, None, None, None, :, :, None]
    skip = ~valid if nan_mode == "kernel" else ~valid | (wts == 0.0)
    idx = np.where(skip, dump, idx)
    if origin:  # an out-of-image sample reads its image's pixel (0, 0) with weight 0
        idx = np.where(~valid, (win.batch[k] * h * w)[:, None, None, None, None, None, None], idx)
    wts = np.where(skip, 0.0, wts)
    order = (0, 1, 4, 2, 3, 5, 6)
    shape = (len(k), ph, pw, gh * 2 * gw * 2)
    return idx.transpose(order).reshape(shape), wts.transpose(order).reshape(shape)


def _groups(win):
    keys = np.stack([win.grid_h, win.grid_w], 1)
    for gh, gw in {tuple(int(v) for v in key) for key in keys}:
        if gh > 0 and gw > 0:
            yield gh, gw, np.flatnonzero((win.grid_h == gh) & (win.grid_w == gw))


def roi_align(x, rois, output_size, spatial_scale, sampling_ratio, conv, nan_mode="kernel", geometry_dtype="float64"):
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    ph, pw = geometry.pooled_shape(output_size)
    win = geometry.window(np.asarray(rois, np.float64), n, float(spatial_scale), conv, ph, pw, sampling_ratio, geometry_dtype)
    table = np.zeros((n * h * w + 1, c))
    table[:-1] = x.transpose(0, 2, 3, 1).reshape(-1, c)
    out = np.zeros((len(rois), ph, pw, c))
    for gh, gw, k in _groups(win):
        idx, wts = _plan(win, k, gh, gw, ph, pw, h, w, n * h * w, nan_mode, conv.outside_reads_origin)
        with np.errstate(invalid="ignore"):  # 0 * inf in a weight-0 corner: NaN, as in the C++ kernel
            out[k] = np.matmul(wts[..., None, :], table[idx])[..., 0, :]
    count = win.grid_h * win.grid_w
    if conv.empty_grid_nan:
        out[count <= 0] = np.nan
    if conv.sum_limit is not None:
        total = out * np.maximum(count, 1)[:, None, None, None]
        with np.errstate(invalid="ignore"):
            out = np.where(np.abs(total) > conv.sum_limit, np.sign(total) * np.inf, out)
    return out.transpose(0, 3, 1, 2)


def roi_align_backward(g, shape, rois, output_size, spatial_scale, sampling_ratio, conv, geometry_dtype="float64"):
    n, c, h, w = shape
    ph, pw = geometry.pooled_shape(output_size)
    win = geometry.window(np.asarray(rois, np.float64), n, float(spatial_scale), conv, ph, pw, sampling_ratio, geometry_dtype)
    table = np.zeros((n * h * w + 1, c))
    bins = np.asarray(g, np.float64).transpose(0, 2, 3, 1)
    for gh, gw, k in _groups(win):
        idx, wts = _plan(win, k, gh, gw, ph, pw, h, w, n * h * w, "kernel", False)
        np.add.at(table, idx.ravel(), (wts[..., None] * bins[k][:, :, :, None, :]).reshape(-1, c))
    return table[:-1].reshape(n, h, w, c).transpose(0, 3, 1, 2)
