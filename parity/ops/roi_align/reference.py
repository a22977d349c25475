"""Float64 reference RoIAlign: the oracle every framework is compared against.

The kernel follows the Detectron/Caffe2 RoIAlign that torchvision's C++ kernel implements
(``shared/design/roi_align.md`` section 1), parameterised by a :class:`Convention` that
captures how each framework turns a roi into a sampling window (section 2).

This module holds the entry points (:func:`roi_align`, :func:`roi_align_backward`,
:func:`roi_align_channels_last`).  The geometry (rois -> sampling windows -> per-axis sample
positions, in the geometry dtype asked for) is :mod:`parity.ops.roi_align.geometry`; the loops over
samples, interpolation and averaging in float64, live in :mod:`parity.ops.roi_align.kernel`, compiled,
in torchvision's per-sample summation order: in float64 the two agree bit for bit, and a NaN reaches
exactly the bins it reaches in the C++ kernel (``nan_mode``).  A prediction of a kernel summing in
float16 is :mod:`parity.ops.roi_align.float16_serial`.  The conventions and geometry helpers callers
pass to or read beside the oracle are re-exported here (``__all__``), so that one import gives both.

The backward pass (:func:`roi_align_backward`) is the transpose of the same map.

Undefined and invalid inputs (a batch index outside the batch, non-finite roi coordinates)
raise :class:`parity.engine.errors.InvalidInput` instead of producing numbers: what a framework
does with them is a robustness question, not a parity one.

Memory: besides its inputs and result, a call holds one channels-last float64 copy of the
features (forward) or of the output gradient and the feature gradient (backward), and per-axis
sample positions (``K * (PH * gh + PW * gw)`` values, in batches of at most
parity.ops.roi_align.geometry._POSITIONS).  Both the copy and the results of a megabyte or more
live in buffers the process keeps for its next calls (parity.engine.memory): the largest copy,
and at most two results once nothing holds them.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal

import numpy as np

from parity.engine.errors import InvalidInput
from parity.engine.memory import Results, Scratch
from parity.engine.threads import run_all as threads_run
from parity.engine.threads import spans
from parity.ops.roi_align import kernel, tables
from parity.ops.roi_align.float16_serial import float16_serial_interval
from parity.ops.roi_align.limits import SERIAL_LIMIT
from parity.ops.roi_align.geometry import (
    CONVENTIONS,
    MINDSPORE_END_MODE_0,
    MINDSPORE_END_MODE_1,
    TORCHVISION_ALIGNED,
    TORCHVISION_UNALIGNED,
    Convention,
    as_pooled,
    as_rois,
    batch_indices,
    cache_order,
    pooled_shape,
    rois_from_boxes,
    sample_geometry,
    sampling_grid,
)

__all__ = [
    "CONVENTIONS", "MINDSPORE_END_MODE_0", "MINDSPORE_END_MODE_1", "SERIAL_LIMIT", "TORCHVISION_ALIGNED",
    "TORCHVISION_UNALIGNED", "Convention", "NanMode", "batch_indices", "float16_serial_interval", "pooled_shape",
    "roi_align", "roi_align_backward", "roi_align_channels_last", "rois_from_boxes", "sampling_grid",
]

NanMode = Literal["kernel", "weighted"]


def roi_align(
    features: np.ndarray,
    rois: np.ndarray | Sequence[np.ndarray],
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    convention: Convention = TORCHVISION_UNALIGNED,
    nan_mode: NanMode = "kernel",
    geometry_dtype: str = "float64",
    threads: int = 1,
) -> np.ndarray:
    """RoIAlign forward in float64: ``[N, C, H, W]`` features, rois -> ``[K, C, PH, PW]``.

    ``nan_mode="kernel"`` reads all four bilinear corners of an in-image sample, as the C++
    kernels do, so a NaN/Inf next to a sample reaches the output even with weight 0;
    ``"weighted"`` skips zero-weight corners (the mathematical definition).
    ``geometry_dtype`` computes the sampling positions (roi scaling, bin sizes, grid, sample
    steps) in a lower precision, as a kernel running in that dtype does; interpolation and
    averaging stay in float64.  It shows which samples rounding alone moves across a
    discontinuity (the image border, a grid-size step).  ``threads`` splits the work over disjoint
    rois and channels (parity.engine.threads): the same numbers, bit for bit, at any count.
    """
    x = np.asarray(features)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.ndim != 4:
        raise InvalidInput(f"features must be [N, C, H, W]; got shape {x.shape}")
    r = as_rois(rois)
    ph, pw = as_pooled(output_size)
    n, c, h, w = x.shape
    if len(r) * c * ph * pw == 0:  # no rois, channels or bins: an empty result, as torchvision returns
        return np.zeros((len(r), c, ph, pw))
    if convention.accumulate == "float16":  # the midpoint of what a float16 kernel can return
        lo, hi = float16_serial_interval(x, r, (ph, pw), spatial_scale, sampling_ratio, convention)
        with np.errstate(invalid="ignore"):
            return np.where(lo == hi, lo, (lo + hi) / 2)
    table = _channels_last(x, threads) if h > 0 and w > 0 else None  # its last row: zeros, read by skipped corners
    return roi_align_channels_last(table, x.shape, r, (ph, pw), spatial_scale, sampling_ratio, convention, nan_mode, geometry_dtype,
                                   threads)


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
    threads: int = 1,
) -> np.ndarray:
    """:func:`roi_align` of features already laid out as a channels-last table.

    ``table[N * H * W + 1, C]`` (float64, or float32 for values that are float32) holds pixel
    ``(b, y, x)`` in row ``(b * H + y) * W + x`` and zeros in its last row (None when H or W is 0).  For callers that build their own table of derived
    values (parity.ops.roi_align.bounds.rounding_bound) instead of paying for a feature map and a transpose.
    """
    n, c, h, w = features_shape
    r = np.asarray(rois, dtype=np.float64)
    ph, pw = output_size
    if len(r) * c * ph * pw == 0:
        return np.zeros((len(r), c, ph, pw))
    out = _results((len(r), c, ph, pw))  # uninitialised: the kernel writes every bin of a roi it samples
    win, batches = sample_geometry(r, n, float(spatial_scale), convention, ph, pw, sampling_ratio, geometry_dtype)
    if table is None or h == 0 or w == 0:
        out[...] = 0.0  # nothing to sample
    else:
        if table.shape != (n * h * w + 1, c) or table.dtype not in (np.float32, np.float64):
            raise InvalidInput(f"a channels-last table for {features_shape} must be float32/64 {(n * h * w + 1, c)}; got {table.shape}")
        for ids, ypos, yoff, xpos, xoff in batches:
            order = cache_order(win, ids)
            args = (table, h, w, win.batch, ids, ypos, yoff, xpos, xoff)
            flags = (nan_mode == "weighted", convention.outside_reads_origin, out)
            # Each roi writes only its own bins: a thread's share is a range of rois (ids ascend),
            # visited in cache order, so that each thread first-touches its own part of a fresh
            # ``out`` (W2's kernel at 2 threads: 28 ms; 33-37 ms with shares of the visiting order,
            # whose threads touched the same pages).
            parts = spans(len(ids), threads)
            shares = [order] if len(parts) == 1 else [order[(order >= a) & (order < b)] for a, b in parts]
            threads_run([partial(kernel.forward, *args, share, *flags) for share in shares])
        out[~win.sampled] = 0.0  # the kernel writes every bin of the rois it samples; the others' stay 0
    if convention.empty_grid_nan:  # a zero sample count: 0 / 0 (an inverted roi's negative grids divide 0 by their product)
        out[(win.grid_h * win.grid_w) == 0] = np.nan
    if convention.sum_limit is not None:
        total = out * np.maximum(win.grid_h * win.grid_w, 1)[:, None, None, None]
        with np.errstate(invalid="ignore"):
            out = np.where(np.abs(total) > convention.sum_limit, np.sign(total) * np.inf, out)
    return out


def roi_align_backward(
    grad_output: np.ndarray,
    features_shape: Sequence[int],
    rois: np.ndarray | Sequence[np.ndarray],
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    convention: Convention = TORCHVISION_UNALIGNED,
    geometry_dtype: str = "float64",
    threads: int = 1,
) -> np.ndarray:
    """Gradient of :func:`roi_align` w.r.t. the features, in float64: ``[K, C, PH, PW]`` -> ``[N, C, H, W]``.

    The forward is linear in the features, so this is its exact transpose: every sample hands
    ``grad * weight`` back to the pixels it read.  The rois get no gradient (as in torchvision).
    Like the C++ kernel, an in-image sample adds to all four of its corners, so a NaN in
    ``grad_output`` reaches zero-weight corners too.  ``threads`` splits the channels (rois share
    pixels, channels share nothing): the same numbers at any count.
    """
    shape = tuple(int(v) for v in features_shape)
    if len(shape) != 4 or min(shape) < 0:
        raise InvalidInput(f"features_shape must be [N, C, H, W]; got {features_shape!r}")
    n, c, h, w = shape
    r = as_rois(rois)
    ph, pw = as_pooled(output_size)
    g = np.asarray(grad_output, dtype=np.float64)
    if g.shape != (len(r), c, ph, pw):
        raise InvalidInput(f"grad_output must be [K, C, PH, PW] = {(len(r), c, ph, pw)}; got {g.shape}")
    if len(r) == 0 or c == 0 or h == 0 or w == 0 or ph == 0 or pw == 0:
        return np.zeros(shape, dtype=np.float64)
    win, batches = sample_geometry(r, n, float(spatial_scale), convention, ph, pw, sampling_ratio, geometry_dtype)
    scratch = _scratch(n * h * w * c)
    scratch[...] = 0.0
    g = np.ascontiguousarray(g)
    # A thread's share: a channel range and a [N * H * W, its channels] buffer of its own.
    shares = [(a, scratch[n * h * w * a:n * h * w * b].reshape(n * h * w, b - a)) for a, b in spans(c, threads)]
    for ids, ypos, yoff, xpos, xoff in batches:
        threads_run([partial(kernel.backward, g, h, w, win.batch, ids, ypos, yoff, xpos, xoff, a, buf) for a, buf in shares])
    out = _results(shape)
    threads_run([partial(tables.channels_first, buf, out, a) for a, buf in shares])
    return out


_scratch = Scratch()  # the channels-last tables: first touch costs more than the copy
_results = Results()  # result arrays: W2's forward spent a third of its time first touching a fresh one


def _channels_last(x: np.ndarray, threads: int = 1) -> np.ndarray:
    """``x[N, C, H, W]`` as a ``[N * H * W + 1, C]`` table, last row zeros, in the scratch buffer.

    Float32 features stay float32 (the kernel widens each value as it reads it: the same numbers
    from half the bytes, and reading the table is what a detection-sized forward waits on);
    anything else becomes float64.
    """
    n, c, h, w = x.shape
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)  # float16 and friends: exact in float64, and compiled once
    size = (n * h * w + 1) * c
    if x.dtype == np.float32:
        table = _scratch((size + 1) // 2).view(np.float32)[:size].reshape(n * h * w + 1, c)
    else:
        table = _scratch(size).reshape(n * h * w + 1, c)
    table[-1] = 0.0
    x = np.ascontiguousarray(x)
    threads_run([partial(tables.channels_last, x, table, a, b) for a, b in spans(c, threads)])
    return table

