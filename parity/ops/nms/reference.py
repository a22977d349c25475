"""The float64 reference NMS under one semantics, with the pairs whose decision rounding in the
case's dtype could flip.

Greedy NMS (both frameworks document it): visit boxes in decreasing score; keep a box unless an
already kept box has IoU > threshold with it.  IoU = overlap / union with continuous widths
(x2 - x1, no + 1), the overlap's width and height clamped at 0; a NaN IoU never suppresses
(NaN > t is false).  What a semantics may vary, each measured or documented somewhere:

- ``order``: ``stable`` (equal scores by ascending index, NaN first, as torch.sort(stable=True,
  descending=True)), ``bitonic`` (MindSpore's CPU kernel: an ascending bitonic network padded
  with the dtype's largest value, then read backwards) or ``introsort`` (Paddle's unstable
  argsort: libstdc++'s std::sort, parity.ops.nms.introsort) or ``heap`` (ONNX Runtime's priority
  queue, which differs from ``stable`` only with NaN scores);
- ``threshold``: ``exact`` (the float64 threshold) or ``dtype`` (rounded to the case's dtype first);
- ``output``: ``input`` (indices of the input boxes) or ``position`` (positions in the sorted order);
- ``padding``: what a sort slot past the input does (only MindSpore's network, with +inf scores, has one);
- ``corners``: ``given`` ((x1, y1) and (x2, y2) as given: an inverted box has a positive area and
  no overlap, torchvision) or ``any`` (any diagonal corner pair, normalised to min/max first: the
  ONNX NonMaxSuppression spec).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from parity.engine.compare import UNIT_ROUNDOFF

#: The decision bound is first order; this factor covers second-order terms.
SAFETY = 2.0
#: Boxes of the visiting order whose IoUs with the later boxes are computed together (one NumPy
#: pass per block instead of one per kept box; memory: BLOCK x N pairs).
BLOCK = 64


@dataclass(frozen=True)
class Semantics:
    key: str
    order: str = "stable"
    threshold: str = "exact"
    output: str = "input"
    padding: str = "skip"  # a sort slot past the input: "skip" it, or keep it selected ("slot", MindSpore)
    corners: str = "given"  # "any": a box is any diagonal corner pair (normalised first, ONNX)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stable_order(scores: np.ndarray) -> np.ndarray:
    """torch.sort(stable=True, descending=True): NaN first, equal scores by ascending index."""
    s = np.asarray(scores, dtype=np.float64)
    key = np.where(np.isnan(s), np.inf, s)
    rank_nan = np.isnan(s).astype(np.int8)  # NaN before +inf
    return np.lexsort((np.arange(len(s)), -key, -rank_nan)).astype(np.int64)


def bitonic_order(scores: np.ndarray) -> np.ndarray:
    """MindSpore's CPU NMSWithMask sort: the bitonic compare-exchange network on the scores in
    their dtype, padded to a power of two with the dtype's largest value, its lowest N entries read backwards
    (nms_with_mask_cpu_kernel.cc, NmsBitonicSortByKeyKernel and PopulateOutput).  Every stage
    compares disjoint pairs, so the result does not depend on threads.  Entries >= N (padding)
    may come out on top where a score exceeds the padding (+inf): MindSpore then reads past its
    input; they are returned as they are."""
    n = len(scores)
    size = 1 << max(0, (n - 1).bit_length()) if n else 0
    dt = scores.dtype if scores.dtype in (np.float16, np.float32) else np.float64
    data = np.full(size, np.finfo(dt).max, dtype=dt)
    data[:n] = scores.astype(dt)
    index = np.arange(size, dtype=np.int64)
    tid = np.arange(size)
    i = 2
    while i <= size:
        j = i >> 1
        while j > 0:
            comp = tid ^ j
            lo = tid[comp > tid]
            hi = comp[comp > tid]
            up = (lo & i) == 0
            with np.errstate(invalid="ignore"):
                swap = np.where(up, data[lo] > data[hi], data[lo] < data[hi])
            a, b = lo[swap], hi[swap]
            data[a], data[b] = data[b].copy(), data[a].copy()
            index[a], index[b] = index[b].copy(), index[a].copy()
            j >>= 1
        i <<= 1
    return index[:n][::-1].copy()


def introsort_order(scores: np.ndarray) -> np.ndarray:
    """paddle.argsort(scores, descending=True) on CPU (not stable above 16 scores)."""
    from parity.ops.nms.introsort import paddle_descending

    return np.asarray(paddle_descending(scores.tolist()), dtype=np.int64).reshape(-1)


def heap_order(scores: np.ndarray) -> np.ndarray:
    """ONNX Runtime's NonMaxSuppression priority queue (NaN scores land where the heap leaves them)."""
    from parity.ops.nms.introsort import onnxruntime_descending

    return np.asarray(onnxruntime_descending(scores.tolist()), dtype=np.int64).reshape(-1)


_ORDERS = {"stable": stable_order, "bitonic": bitonic_order, "introsort": introsort_order, "heap": heap_order}


def pair_ious(boxes: np.ndarray, rows: np.ndarray, cols: np.ndarray, dtype: str, coord_error: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """IoU of each box ``rows[r]`` with each box ``cols[c]`` in float64 (``[len(rows), len(cols)]``),
    and a bound on what the ``dtype`` computes.

    Where every intermediate (widths, overlap, areas, union) is exact in ``dtype``, the dtype's
    IoU is the correctly rounded quotient, returned as such with bound 0 (so IoU exactly at the
    threshold is decided).  Otherwise the bound sums the first-order rounding terms.  Every pair
    gets the same elementwise operations whatever else is computed with it.
    """
    b = boxes.astype(np.float64)
    u = UNIT_ROUNDOFF[dtype]
    low = np.dtype(dtype)
    x1, y1, x2, y2 = (b[cols, k][None, :] for k in range(4))
    ix1, iy1, ix2, iy2 = (b[rows, k][:, None] for k in range(4))
    shape = (len(rows), len(cols))
    with np.errstate(invalid="ignore", over="ignore"):
        iw_raw = np.minimum(ix2, x2) - np.maximum(ix1, x1)
        ih_raw = np.minimum(iy2, y2) - np.maximum(iy1, y1)
        iw, ih = _clamped(iw_raw), _clamped(ih_raw)
        inter = iw * ih
        area_i = (ix2 - ix1) * (iy2 - iy1)
        area = (x2 - x1) * (y2 - y1)
        union = area_i + area - inter
        iou = inter / union
        # every value the kernels form: widths, overlap, areas, (area_i + area) - inter, in that order
        pieces = (iw_raw, ih_raw, inter, area, area_i + area, union, x2 - x1, y2 - y1, ix2 - ix1, iy2 - iy1, area_i)
        exact = np.all([_representable(np.broadcast_to(p, shape), low) for p in pieces], axis=0) if iou.size else np.zeros(shape, bool)
        rounded = (inter.astype(low) / union.astype(low)).astype(np.float64)
        scale = np.abs(inter) + np.abs(iou) * (np.abs(area_i) + np.abs(area) + np.abs(inter))
        bound = SAFETY * 4 * u * (scale / np.abs(union) + np.abs(iou))
        if coord_error:
            sides = iw + ih + np.abs(x2 - x1) + np.abs(y2 - y1) + np.abs(ix2 - ix1) + np.abs(iy2 - iy1)
            bound = bound + SAFETY * 2 * coord_error * sides * (1 + np.abs(iou)) / np.abs(union)
            exact = np.zeros_like(exact)
    iou = np.where(exact, rounded, iou)
    bound = np.where(exact | ~np.isfinite(iou), 0.0, bound)
    return iou, np.where(np.isfinite(bound), bound, np.inf)


def _clamped(width: np.ndarray) -> np.ndarray:
    """An overlap width clamped at 0; NaN stays NaN (a NaN IoU never suppresses)."""
    return np.where(width > 0, width, np.where(np.isnan(width), np.nan, 0.0))


def _representable(x: np.ndarray, low: np.dtype) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        exact: np.ndarray = np.isfinite(x) & (x.astype(low).astype(np.float64) == x)
    return exact


def threshold_of(threshold: float, sem: Semantics, dtype: str) -> float:
    return float(np.asarray(threshold, dtype=np.float32).astype(dtype)) if sem.threshold == "dtype" else float(threshold)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, sem: Semantics, dtype: str, coord_error: float = 0.0) -> dict[str, np.ndarray]:
    """Greedy NMS under ``sem``: kept indices (in visiting order), each box's suppressor (-1:
    kept) and that pair's IoU, and the decisions within rounding of the threshold (i, j, IoU, bound)."""
    n = len(scores)
    dtype = dtype if dtype in UNIT_ROUNDOFF else "float64"
    if sem.corners == "any" and len(boxes):
        boxes = normalised(boxes)
    order = _ORDERS[sem.order](scores)
    t = threshold_of(threshold, sem, dtype)
    suppressor = np.full(n, -1, dtype=np.int64)
    pair_iou = np.full(n, np.nan)
    alive = np.ones(len(order), dtype=bool)
    padding = order >= n  # a sort slot read past the input (+inf scores in MindSpore's network)
    alive[padding] = False
    kept: list[int] = []
    near: list[tuple[int, int, float, float]] = []
    with np.errstate(invalid="ignore"):  # NaN IoUs and bounds compare false, silently
        for p0 in range(0, len(order), BLOCK):
            # the IoUs of this block's boxes still alive with every later box still alive, at once
            p1 = min(len(order), p0 + BLOCK)
            live = np.flatnonzero(alive[p0:p1]) + p0
            later = np.flatnonzero(alive[p0 + 1:]) + p0 + 1
            ious, bounds = pair_ious(boxes, order[live], order[later], dtype, coord_error)
            row_of = {int(p): r for r, p in enumerate(live)}
            for p in range(p0, p1):
                if padding[p] and sem.padding == "slot" and sem.output == "position":
                    kept.append(p)  # the slot stays selected; what it holds is not an input box
                if not alive[p]:
                    continue
                i = int(order[p])
                kept.append(p)
                among = (later > p) & alive[later]
                if not among.any():
                    continue
                rest = later[among]
                iou, bound = ious[row_of[p], among], bounds[row_of[p], among]
                hit = iou > t
                close = np.isfinite(iou) & (bound > 0) & (np.abs(iou - t) <= bound)  # bound 0: the dtype decides exactly
                for q in np.flatnonzero(close):
                    near.append((i, int(order[rest[q]]), float(iou[q]), float(bound[q])))
                killed = rest[hit]
                alive[killed] = False
                suppressor[order[killed]] = i
                pair_iou[order[killed]] = iou[hit]
    kept_pos = np.asarray(kept, dtype=np.int64)
    keep = kept_pos if sem.output == "position" else order[kept_pos]
    return {"keep": keep.astype(np.int64), "suppressor": suppressor, "suppressor_iou": pair_iou,
            "near": np.asarray(near, dtype=np.float64).reshape(-1, 4), "order": order[:n].astype(np.int64)}


def normalised(boxes: np.ndarray) -> np.ndarray:
    """Each box as (min x, min y, max x, max y) of its two corners (exact in any dtype)."""
    b = np.asarray(boxes)
    with np.errstate(invalid="ignore"):
        return np.concatenate([np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])], axis=1)


def batched_boxes(boxes: np.ndarray, idxs: np.ndarray, dtype: str) -> tuple[np.ndarray, float]:
    """(the boxes offset per class in float64, how far the dtype's offset coordinates may be from
    them): torchvision's batched_nms trick in float64: each class offset by idx * (max coordinate + 1),
    so boxes of different classes never overlap; NMS on them is NMS per class."""
    b = boxes.astype(np.float64)
    if not len(b):
        return b, 0.0
    shifted = b + (idxs.astype(np.float64) * (np.nanmax(b) + 1))[:, None]
    u = UNIT_ROUNDOFF.get(dtype, UNIT_ROUNDOFF["float64"])
    return shifted, 3 * u * float(np.nanmax(np.abs(shifted), initial=0.0))
