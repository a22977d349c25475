"""The fast path of the float64 reference: separable sampling as one gather and two small products.

Why separable: a sample's bilinear weight is a row weight times a column weight, and a sample is in
the image exactly when its row and its column are.  So for one roi and one channel the whole output
is ``Ay @ X[b, c] @ Ax.T``, where ``Ay[ph, row]`` sums the row weights of bin row ph's samples
(in-image flag and 1/gh folded in) and ``Ax`` does the same for columns.  Both are sparse: a bin row
reads at most ``2 * gh`` rows.

Each axis of a roi is read in one of two forms, whichever :func:`_choose` predicts is cheaper:

- bins: for every bin, its own list of lines: the ``2 * grid`` corner lines of its samples, or,
  when samples crowd (adaptive grids), the contiguous band of lines they span if that is shorter.
  The product is one ``1 x L`` row per bin, so no structural zero is multiplied.  Best for large
  rois; a line shared by two bins is gathered twice.
- lines: the distinct lines the roi reads, ascending, with a dense ``[P, D]`` weight matrix.  Fewer
  lines than the bins form for small rois, paid for with a dense product.

A chunk of rois gathers ``G[k, Na, Nb, C]`` (first-axis lines x second-axis lines, channels last)
from a channels-last table of one image and one block of channels, contracts the first axis
(``np.matmul`` over long rows, bandwidth bound) and then the second, on data already ``P / Na``
smaller.  Chunks stay small enough for the products to read what the gather just wrote from cache,
and tables hold one image and one block of channels, so a large feature map is never copied whole
(on these VMs first-touching fresh memory costs more than the arithmetic).

Entries that carry no weight (zero-weight corners, padding) point at a dump line just past the image:
zero in the forward table, discarded in the backward buffer.  The backward pass uses the bins form
only where it names no real line twice, so ``grad[pixels] += block`` never loses an update.

A dense product multiplies every gathered pixel and 0 * NaN is NaN, so this path is for finite
features (and finite output gradients) only; parity.reference keeps the per-sample gather for the
rest.  Summation order differs from the C++ kernels: results agree to rounding (~1e-16 relative).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from parity.reference import _Window

#: Cost model of :func:`_choose`, ns per gathered element per channel, measured with OpenBLAS on one
#: thread of the 2-core VM.  Only their ratios matter.
GATHER = 0.37  # np.take of one pixel's channels into a cache-resident block
SCATTER = 1.0  # backward: grad[pixels] += block (read, add, write)
BIN_FIRST = 0.25  # first contraction in bins form: batched 1 x L products over long rows
MAC = 0.145  # one multiply-add of a small dense product
BIN_SECOND = 0.3  # second contraction in bins form: many 1 x L @ L x C products, call-bound

#: Gathered bytes per chunk: the products read the gather's output from cache, and fewer, larger
#: chunks spend less time in Python.
CHUNK_BYTES = 2 << 20
#: Bytes of one channels-last table (one image, one block of channels): within the L3 cache.
TABLE_BYTES = 8 << 20
#: Per-axis planning arrays are built for at most this many corners at once (bounds memory for huge grids).
_PLAN_CORNERS = 1 << 22


def axis_corners(
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


@dataclass(frozen=True)
class _Axis:
    """One axis of rois sharing a grid, in both forms (module docstring).

    Bins form: ``bins[k, P, L]`` the lines of each bin's list (``dump`` where the weight is 0) and
    ``bin_weights[k, P, L]``; ``width[k]`` how much of ``L`` the roi uses.  Lines form: ``lines[k, D]``
    the distinct real lines, ascending and padded with ``dump``, ``count[k]`` how many are real, and
    ``dense[k, P, D]`` the weights summed onto them.
    """

    bins: np.ndarray
    bin_weights: np.ndarray
    width: np.ndarray
    lines: np.ndarray
    count: np.ndarray
    dense: np.ndarray
    repeats: np.ndarray  # [k] bool: the bins form names some real line twice

    def form(self, rows: np.ndarray, bins: bool, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Lines ``[k, N]`` and weights of ``rows`` in one form, cut to ``n`` per bin or ``n`` lines."""
        if bins:
            return self.bins[rows, :, :n].reshape(len(rows), -1), self.bin_weights[rows, :, :n]
        return self.lines[rows, :n], self.dense[rows, :, :n]


def _axis(start: np.ndarray, bins: np.ndarray, grid: int, pooled: int, size: int) -> _Axis:
    idx, wt, valid = axis_corners(start, bins, grid, pooled, size)
    k, m = len(start), 2 * grid
    weights = (wt * valid[..., None] / grid).reshape(k, pooled, m)
    taps = np.where(weights != 0.0, idx.reshape(k, pooled, m), size)
    lines, count, dense = _distinct(taps.reshape(k, pooled * m), weights, size)
    lists, list_weights, width = _bin_lists(taps, weights, size)
    named = (lists < size).sum(axis=(1, 2))
    return _Axis(lists, list_weights, width, lines, count, dense, named > count)


def _distinct(flat: np.ndarray, weights: np.ndarray, dump: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per roi: the distinct real lines of ``flat[k, P * m]`` and the ``[k, P, D]`` weights summed onto them.

    Sort, mark first occurrences and rank them; the dump sorts last, after every real line.
    """
    k, pooled, m = weights.shape
    order = np.argsort(flat, axis=1, kind="stable")
    ordered = np.take_along_axis(flat, order, axis=1)
    first = np.ones(ordered.shape, bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    rank = np.cumsum(first, axis=1) - 1
    real = first & (ordered < dump)
    count = real.sum(axis=1)
    d = max(int(count.max(initial=0)), 1)
    lines = np.full((k, d), dump, np.int64)
    r, c = np.nonzero(real)
    lines[r, rank[r, c]] = ordered[r, c]
    pos = np.empty_like(rank)
    np.put_along_axis(pos, order, rank, axis=1)
    pos = np.minimum(pos, d - 1)  # dump entries (weight 0) rank past the real lines
    cell = (np.arange(k)[:, None] * pooled + np.repeat(np.arange(pooled), m)[None, :]) * d + pos
    dense = np.bincount(cell.ravel(), weights.ravel(), minlength=k * pooled * d).reshape(k, pooled, d)
    return lines, count, dense


def _bin_lists(taps: np.ndarray, weights: np.ndarray, dump: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per roi, each bin's list: its ``m`` corner lines, or the band ``lo..hi`` they span when shorter.

    Returns lines and weights ``[k, P, L]`` (dump and 0 past a roi's width, and where a band line
    carries no weight) and the width ``[k]`` each roi uses.
    """
    k, pooled, m = taps.shape
    real = taps < dump
    lo = np.where(real, taps, dump).min(axis=2)
    span = np.where(real, taps, -1).max(axis=2) - lo + 1  # <= 0 for a bin without real corners
    band = np.maximum(span.max(axis=1), 1)
    banded = band < m
    width = np.where(banded, band, m)
    size = int(width.max())
    step = np.arange(size)
    offset = np.clip(taps - lo[:, :, None], 0, size - 1)  # dump corners (weight 0) land anywhere
    cell = ((np.arange(k)[:, None, None] * pooled + np.arange(pooled)[None, :, None]) * size + offset)
    band_weights = np.bincount(cell.ravel(), weights.ravel(), minlength=k * pooled * size).reshape(k, pooled, size)
    band_lines = np.where(band_weights != 0.0, lo[:, :, None] + step, dump)
    pad = ((0, 0), (0, 0), (0, max(size - m, 0)))
    tap_lines = np.pad(taps, pad, constant_values=dump)[:, :, :size]
    tap_weights = np.pad(weights, pad)[:, :, :size]
    lists = np.where(banded[:, None, None], band_lines, tap_lines)
    list_weights = np.where(banded[:, None, None], band_weights, tap_weights)
    return lists, list_weights, width


@dataclass(frozen=True)
class _Form:
    """One axis of a chunk as its product reads it: bins ``[k, P, L]`` or lines ``[k, P, n]`` weights."""

    weights: np.ndarray
    bins: bool


@dataclass(frozen=True)
class _Chunk:
    """Rois of one image read in the same forms: one gather and two products.

    ``pixels[k, Na, Nb]`` indexes the image's padded ``(H + 1) x (W + 1)`` table, first axis outer.
    """

    image: int
    rois: np.ndarray
    pixels: np.ndarray
    first: _Form
    second: _Form
    y_first: bool


def _choose(ay: _Axis, ax: _Axis, backward: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per roi, the cheapest (y contracted first, y in bins form, x in bins form) by the cost model.

    Cost per channel: the gathered block ``Na * Nb`` times (gather or scatter + first product) plus
    the second product on ``Pa * Nb``.  The backward pass may not use the bins form of an axis that
    names a real line twice (the scatter would lose an update).
    """
    ph, pw = ay.bins.shape[1], ax.bins.shape[1]
    move = SCATTER if backward else GATHER
    costs, options = [], []
    for y_first, y_bins, x_bins in itertools.product((True, False), repeat=3):
        ny = ph * ay.width if y_bins else ay.count
        nx = pw * ax.width if x_bins else ax.count
        (nf, pf, f_bins), (ns, ps, s_bins) = ((ny, ph, y_bins), (nx, pw, x_bins))[:: 1 if y_first else -1]
        cost = nf * ns * (move + (BIN_FIRST if f_bins else MAC * pf)) + pf * ns * (BIN_SECOND if s_bins else MAC * ps)
        if backward:
            cost = np.where((y_bins & ay.repeats) | (x_bins & ax.repeats), np.inf, cost)
        costs.append(cost.astype(np.float64))
        options.append((y_first, y_bins, x_bins))
    best = np.argmin(np.stack(costs), axis=0)
    table = np.array(options, bool)
    return table[best, 0], table[best, 1], table[best, 2]


def plan(win: _Window, pooled: tuple[int, int], size: tuple[int, int], channels: int, backward: bool) -> list[_Chunk]:
    """Chunks covering every roi that reads anything, sized for ``channels`` channels per gather.

    Rois are planned in batches of at most _PLAN_CORNERS sample corners, so huge adaptive grids
    cannot exhaust memory; within a batch each axis is computed once per distinct grid.
    """
    ph, pw = pooled
    h, w = size
    budget = max(1, CHUNK_BYTES // (8 * channels))
    live = np.flatnonzero((win.grid_h > 0) & (win.grid_w > 0))  # others: the C++ loops run 0 times, bins stay 0
    corners = 2 * np.maximum(ph * win.grid_h[live], pw * win.grid_w[live])
    batch_of = (np.cumsum(corners) - corners) // _PLAN_CORNERS
    chunks: list[_Chunk] = []
    for b in np.unique(batch_of):
        ids = live[batch_of == b]
        ay = _axes(win.y1[ids], win.bin_h[ids], win.grid_h[ids], ph, h)
        ax = _axes(win.x1[ids], win.bin_w[ids], win.grid_w[ids], pw, w)
        chunks += _chunks(ids, win.batch[ids], ay, ax, w + 1, budget, backward)
    return chunks


def _axes(start: np.ndarray, bins: np.ndarray, grid: np.ndarray, pooled: int, size: int) -> _Axis:
    """:func:`_axis` for rois of different grids: one call per distinct grid, merged with padding."""
    values, which = np.unique(grid, return_inverse=True)
    if len(values) == 1:
        return _axis(start, bins, int(values[0]), pooled, size)
    parts = []
    for i, g in enumerate(values):
        rows = np.flatnonzero(which == i)
        parts.append((rows, _axis(start[rows], bins[rows], int(g), pooled, size)))
    k = len(start)
    width = max(part.bins.shape[2] for _, part in parts)
    d = max(part.lines.shape[1] for _, part in parts)
    merged = _Axis(
        np.full((k, pooled, width), size, np.int64), np.zeros((k, pooled, width)), np.zeros(k, np.int64),
        np.full((k, d), size, np.int64), np.zeros(k, np.int64), np.zeros((k, pooled, d)), np.zeros(k, bool),
    )
    for rows, part in parts:
        n, m = part.bins.shape[2], part.lines.shape[1]
        merged.bins[rows, :, :n], merged.bin_weights[rows, :, :n] = part.bins, part.bin_weights
        merged.lines[rows, :m], merged.dense[rows, :, :m] = part.lines, part.dense
        merged.width[rows], merged.count[rows], merged.repeats[rows] = part.width, part.count, part.repeats
    return merged


def _chunks(
    ids: np.ndarray, batch: np.ndarray, ay: _Axis, ax: _Axis, stride: int, budget: int, backward: bool
) -> list[_Chunk]:
    """Split rois into chunks of one image and one choice of forms, similar sizes together.

    Each chunk is padded to its widest roi (more bin entries or lines point at the dump with weight 0).
    """
    y_first, y_bins, x_bins = _choose(ay, ax, backward)
    ph, pw = ay.bins.shape[1], ax.bins.shape[1]
    ny = np.where(y_bins, ay.width, ay.count)  # per bin (bins form) or in all (lines form)
    nx = np.where(x_bins, ax.width, ax.count)
    rows = np.flatnonzero((ay.count > 0) & (ax.count > 0))  # a roi whose samples all fall outside stays 0
    if len(rows) == 0:
        return []
    key = ((batch[rows] * 2 + y_first[rows]) * 2 + y_bins[rows]) * 2 + x_bins[rows]
    order = np.lexsort((nx[rows], ny[rows], key))  # by key, then ascending size: little padding
    rows, key = rows[order], key[order]
    # A segment holds one key; a chunk ends where its segment does or its block would pass the budget.
    new_key = np.r_[True, key[1:] != key[:-1]]
    size = np.where(y_bins, ph, 1)[rows] * ny[rows] * np.where(x_bins, pw, 1)[rows] * nx[rows]
    before = np.cumsum(size) - size
    fill = (before - before[np.maximum.accumulate(np.where(new_key, np.arange(len(rows)), 0))]) // budget
    cuts = np.flatnonzero(new_key | np.r_[True, fill[1:] != fill[:-1]])
    ends = np.r_[cuts[1:], len(rows)]
    wide_y, wide_x = np.maximum.reduceat(ny[rows], cuts), np.maximum.reduceat(nx[rows], cuts)
    segments = np.flatnonzero(new_key)
    chunks = []
    for s, e in zip(segments, np.r_[segments[1:], len(rows)]):
        part = rows[s:e]
        yf, yb, xb = bool(y_first[part[0]]), bool(y_bins[part[0]]), bool(x_bins[part[0]])
        ly, wy = ay.form(part, yb, int(ny[part].max()))
        lx, wx = ax.form(part, xb, int(nx[part].max()))
        for i in range(np.searchsorted(cuts, s), np.searchsorted(cuts, e)):
            lo, hi, my, mx = cuts[i] - s, ends[i] - s, int(wide_y[i]), int(wide_x[i])
            fy, cy = _cut(ly[lo:hi], wy[lo:hi], yb, my)
            fx, cx = _cut(lx[lo:hi], wx[lo:hi], xb, mx)
            pixels = cy[:, :, None] * stride + cx[:, None, :] if yf else cx[:, :, None] + cy[:, None, :] * stride
            first, second = (fy, fx) if yf else (fx, fy)
            chunks.append(_Chunk(int(batch[part[0]]), ids[part[lo:hi]], pixels, first, second, yf))
    return chunks


def _cut(lines: np.ndarray, weights: np.ndarray, bins: bool, n: int) -> tuple[_Form, np.ndarray]:
    """A chunk's slice of one axis, cut to its widest roi: ``n`` per bin (bins form) or ``n`` lines."""
    if bins:
        k, pooled, width = weights.shape
        lines = lines.reshape(k, pooled, width)[:, :, :n].reshape(k, pooled * n)
        return _Form(weights[:, :, :n], True), lines
    return _Form(weights[:, :, :n], False), lines[:, :n]


def _contract_first(g: np.ndarray, f: _Form) -> np.ndarray:
    """``[k, Na, R] -> [k, Pa, R]``: the first axis of each roi reduced to its bins."""
    k, p = f.weights.shape[:2]
    if f.bins:
        return np.matmul(f.weights[:, :, None, :], g.reshape(k, p, -1, g.shape[-1]))[:, :, 0]
    return np.matmul(f.weights, g)


def _contract_second(y: np.ndarray, f: _Form) -> np.ndarray:
    """``[k, Pa, Nb, C] -> [k, Pa, Pb, C]``."""
    k, pa, _, c = y.shape
    p = f.weights.shape[1]
    if f.bins:
        return np.matmul(f.weights[:, None, :, None, :], y.reshape(k, pa, p, -1, c))[:, :, :, 0]
    return np.matmul(f.weights[:, None], y)


def _expand_second(z: np.ndarray, f: _Form) -> np.ndarray:
    """Transpose of :func:`_contract_second`: ``[k, Pa, Pb, C] -> [k, Pa, Nb, C]``."""
    k, pa, _, c = z.shape
    if f.bins:
        return (f.weights[:, None, :, :, None] * z[:, :, :, None, :]).reshape(k, pa, -1, c)
    return np.matmul(f.weights.transpose(0, 2, 1)[:, None], z)


def _expand_first(y: np.ndarray, f: _Form) -> np.ndarray:
    """Transpose of :func:`_contract_first`: ``[k, Pa, R] -> [k, Na, R]``."""
    k, _, r = y.shape
    if f.bins:
        return (f.weights[:, :, :, None] * y[:, :, None, :]).reshape(k, -1, r)
    return np.matmul(f.weights.transpose(0, 2, 1), y)


def _blocks(height: int, width: int, channels: int) -> list[tuple[int, int]]:
    """Channel ranges whose channels-last table of one image fits TABLE_BYTES (at least 8 channels)."""
    fit = max(8, TABLE_BYTES // (8 * (height + 1) * (width + 1)))
    count = -(-channels // fit)
    step = -(-channels // count)
    return [(c0, min(channels, c0 + step)) for c0 in range(0, channels, step)]


class _Scratch:
    """A reusable buffer: fresh memory is slow to touch on these VMs, so hot loops reuse one."""

    def __init__(self) -> None:
        self._buf = np.empty(0)

    def view(self, shape: tuple[int, ...]) -> np.ndarray:
        n = int(np.prod(shape))
        if n > self._buf.size:
            self._buf = np.empty(max(n, 2 * self._buf.size))
        return self._buf[:n].reshape(shape)


def forward(x: np.ndarray, win: _Window, pooled: tuple[int, int], out: np.ndarray) -> bool:
    """Fill ``out[K, PH, PW, C]`` (zeros on entry) from features ``x[N, C, H, W]`` of any float dtype.

    Returns False, leaving ``out`` partly written, as soon as an image that some roi reads holds a
    non-finite value: checked on each table while it is in cache, instead of in a separate pass.
    """
    _, c, h, w = x.shape
    blocks = _blocks(h, w, c)
    chunks = plan(win, pooled, (h, w), blocks[0][1], backward=False)
    tables: dict[int, np.ndarray] = {}
    gathered = _Scratch()
    for image in sorted({ch.image for ch in chunks}):
        todo = [ch for ch in chunks if ch.image == image]
        for c0, c1 in blocks:
            cb = c1 - c0
            if cb not in tables:
                tables[cb] = np.zeros((h + 1, w + 1, cb))  # row h and column w: the zero dump line
            table = tables[cb]
            np.copyto(table[:h, :w], x[image, c0:c1].transpose(1, 2, 0))
            if not finite(table):
                return False
            flat = table.reshape(-1, cb)
            for ch in todo:
                k, na, nb = ch.pixels.shape
                g = np.take(flat, ch.pixels, axis=0, out=gathered.view((k, na, nb, cb)), mode="clip")
                y = _contract_first(g.reshape(k, na, nb * cb), ch.first)
                z = _contract_second(y.reshape(k, -1, nb, cb), ch.second)
                out[ch.rois, :, :, c0:c1] = z if ch.y_first else z.transpose(0, 2, 1, 3)
    return True


def finite(a: np.ndarray) -> bool:
    """Whether every value is finite, in one pass and without a temporary the size of ``a``.

    A finite float64 sum implies finite terms; a sum that overflows only sends finite values to
    the exact (slower) path, never the other way round.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.sum(a, dtype=np.float64)))


def backward(grad: np.ndarray, win: _Window, pooled: tuple[int, int], shape: tuple[int, int, int, int]) -> np.ndarray:
    """Gradient ``[N, C, H, W]`` of the features from a finite ``grad[K, C, PH, PW]``: the forward transposed.

    Each chunk expands its output gradient back to its gathered block (the two products, transposed)
    and adds the block into a channels-last buffer, one roi at a time: within a roi no real pixel
    repeats (see :func:`_choose`), across rois they do.
    """
    n, c, h, w = shape
    buf = np.zeros((n, h + 1, w + 1, c))
    g = grad.transpose(0, 2, 3, 1)
    for ch in plan(win, pooled, (h, w), c, backward=True):
        k, na, nb = ch.pixels.shape
        z = g[ch.rois] if ch.y_first else g[ch.rois].transpose(0, 2, 1, 3)
        y = _expand_second(z, ch.second)
        block = _expand_first(y.reshape(k, y.shape[1], nb * c), ch.first).reshape(k, na * nb, c)
        image = buf[ch.image].reshape(-1, c)
        for i in range(k):
            image[ch.pixels[i].ravel()] += block[i]
    return buf[:, :h, :w].transpose(0, 3, 1, 2)
