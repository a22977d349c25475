"""RoIAlign geometry: how each framework turns a roi into a sampling window, and the samples in it.

A :class:`Convention` captures one framework's rules (``shared/design/roi_align.md`` section 2);
from it this module computes rois -> sampling windows (:func:`window`) -> per-axis sample positions
(:func:`sample_geometry`), in the geometry dtype asked for (the roi scaling, bin sizes and sample
steps of a kernel running in float16 or float32), and which image a roi reads (:func:`batch_indices`).
It is the part of the reference that decides *where* RoIAlign samples; what it does with the samples
is parity.ops.roi_align.reference (float64 loops) and parity.ops.roi_align.float16_serial (a float16
kernel's serial sum).  Kept apart so that both evaluate exactly the same windows, and so that the
bounds (parity.ops.roi_align.bounds) and the reference's deadline read the grid without running it.

Undefined inputs (a batch index outside the batch, non-finite roi coordinates, an adaptive grid too
large to sample) raise :class:`parity.engine.errors.InvalidInput`.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from parity.engine.errors import InvalidInput

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
    = ``"float16"`` sums each bin's samples serially in float16
    (parity.ops.roi_align.float16_serial.float16_serial_interval);
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


def as_rois(rois: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """``[K, 5]`` float64 rois from an array or torchvision's list of boxes; any other shape is an InvalidInput."""
    r = rois_from_boxes(rois) if isinstance(rois, (list, tuple)) else np.asarray(rois, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != 5:
        raise InvalidInput(f"rois must be [K, 5] (batch_index, x1, y1, x2, y2); got shape {r.shape}")
    return r


def as_pooled(output_size: int | Sequence[int]) -> tuple[int, int]:
    """``(PH, PW)`` from ``output_size``; a negative side is an InvalidInput."""
    ph, pw = pooled_shape(output_size)
    if ph < 0 or pw < 0:
        raise InvalidInput(f"output_size must not be negative; got {(ph, pw)}")
    return ph, pw


#: One batch of rois and their sample positions: ``(ids, ypos, yoff, xpos, xoff)`` (:func:`sample_geometry`).
Batch = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
#: Recent geometries: a case evaluates the same rois under the same window rules several times
#: (result, rounding bound, gradient and its bound), and on small cases the geometry costs more
#: than the sampling loops.
_GEOMETRIES: dict[tuple[object, ...], tuple[Window, list[Batch]]] = {}
_GEOMETRIES_KEPT = 8
#: Geometries with more sample positions than this are not kept (their loops dwarf them).
_GEOMETRY_KEPT_POSITIONS = 1 << 16


def sample_geometry(
    r: np.ndarray, n: int, s: float, conv: Convention, ph: int, pw: int, sampling_ratio: int, geometry_dtype: str
) -> tuple[Window, list[Batch]]:
    """The windows and sample-position batches of ``r``, from the few kept or computed afresh.

    Keyed by the roi values and by what shapes a window (not by the convention's other rules).
    """
    rules = (conv.offset, conv.end_pad, conv.min_size, conv.adaptive_grid, conv.batch_index, conv.scale_dtype, conv.skip_x_near_zero)
    dtype = geometry_dtype if isinstance(geometry_dtype, str) else np.dtype(geometry_dtype).name
    key = (r.shape, r.tobytes(), n, s, rules, ph, pw, int(sampling_ratio), dtype)
    found = _GEOMETRIES.get(key)
    if found is None:
        win = window(r, n, s, conv, ph, pw, sampling_ratio, geometry_dtype)
        found = (win, list(_positions(win, ph, pw)))
        if sum(len(b[1]) + len(b[3]) for b in found[1]) <= _GEOMETRY_KEPT_POSITIONS:
            if len(_GEOMETRIES) >= _GEOMETRIES_KEPT:
                del _GEOMETRIES[next(iter(_GEOMETRIES))]
            _GEOMETRIES[key] = found
    return found


def _positions(win: Window, ph: int, pw: int) -> Iterator[Batch]:
    """Batches of rois with their sample positions as :func:`parity.ops.roi_align.kernel.forward` reads them.

    Yields ``(ids, ypos, yoff, xpos, xoff)``: roi ``ids[j]`` samples rows ``ypos[yoff[j]:yoff[j+1]]``
    (bin row by bin row) and columns ``xpos[xoff[j]:xoff[j+1]]``.  Rois whose grid is empty are
    left out (the C++ sampling loops run zero times: their bins stay 0).
    """
    live = np.flatnonzero(win.sampled)
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


def cache_order(win: Window, ids: np.ndarray) -> np.ndarray:
    """An order of a batch's rois (positions ``j`` in ``ids``) for the forward kernels: image by
    image, top to bottom, left to right, so that consecutive rois read overlapping table rows while
    they are still in cache (W2 of ``parity bench``: the forward takes ~15% less time than in roi
    order).  Only for passes where each roi writes its own bins: the backward adds rois into shared
    pixels, and its order is torchvision's summation order.
    """
    return np.lexsort((win.x1[ids], win.y1[ids], win.batch[ids]))


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
    win, _ = sample_geometry(r, batch, float(spatial_scale), convention, ph, pw, sampling_ratio, "float64")
    corners = np.stack([win.x1, win.y1, win.x1 + win.bin_w * pw, win.y1 + win.bin_h * ph])
    reach = np.abs(corners).max(axis=0).astype(np.float64)
    return win.grid_h, win.grid_w, reach


@dataclass(frozen=True)
class Window:
    """Per-roi sampling windows in feature-map coordinates (arrays of length K, in the geometry dtype)."""

    batch: np.ndarray
    y1: np.ndarray
    x1: np.ndarray
    bin_h: np.ndarray
    bin_w: np.ndarray
    grid_h: np.ndarray
    grid_w: np.ndarray

    @property
    def sampled(self) -> np.ndarray:
        """Which rois have samples: the others' C++ sampling loops run zero times."""
        mask: np.ndarray = (self.grid_h > 0) & (self.grid_w > 0)
        return mask


def batch_indices(b: np.ndarray, conv: Convention) -> np.ndarray:
    """The image each roi reads, from its float batch index.

    ``"trunc"``: torchvision's C cast (0.7 -> 0, -0.9 -> 0).  ``"round"``: MindSpore's CPU kernel,
    ``rintf(roi[0] + 0.00007)``: the sum in double, rounded to float, then to the nearest integer
    with ties to even, so 0.5 -> 1, 2.5 -> 3 and 0.49995 -> 1 (measured on mindspore 2.10.0).
    """
    b = np.asarray(b, dtype=np.float64)
    if conv.batch_index == "trunc":
        truncated: np.ndarray = np.trunc(b)
        return truncated
    return np.rint((b + 0.00007).astype(np.float32)).astype(np.float64)


def window(
    r: np.ndarray,
    n: int,
    s: float,
    conv: Convention,
    ph: int,
    pw: int,
    sampling_ratio: int,
    geometry_dtype: str = "float64",
) -> Window:
    """Each roi's sampling window under ``conv`` (start, bin size and samples per bin side on each
    axis, in ``geometry_dtype``) and the image it reads, for a batch of ``n`` images, scale ``s`` and
    ``ph`` x ``pw`` bins.  A non-finite roi or a batch index outside the batch is an InvalidInput:
    what a framework does there is a robustness question, not a parity one."""
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
    return Window(batch.astype(np.int64), y1, x1, bin_h, bin_w, grid_h, grid_w)


def _grid(bins: np.ndarray, conv: Convention) -> np.ndarray:
    limit = 1 << 20
    if np.any(np.abs(bins.astype(np.float64)) > limit):
        raise InvalidInput(f"adaptive sampling would need {math.ceil(float(np.max(bins)))} samples per bin side")
    rounded: np.ndarray = np.ceil(bins) if conv.adaptive_grid == "ceil" else np.floor(bins)
    return rounded.astype(np.float64).astype(np.int64)
