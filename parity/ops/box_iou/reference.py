"""The float64 reference for box_iou under each framework's documented (or predicted) semantics,
with a first-order bound on what rounding in the case's dtype explains.

``pairwise(rows, cols, sem)`` is ``[len(rows), len(cols)]`` with element ``[i, j]`` the ratio of
box ``rows[i]`` and box ``cols[j]``; ``iof`` divides by the area of the row box (MindSpore's
gt box, whose index is the row of its result).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np

from parity.engine.compare import UNIT_ROUNDOFF
from parity.engine.errors import InvalidInput
from parity.ops.box_iou.domain import problem

#: The bound is a first-order sum over the operations; this factor covers second-order terms.
SAFETY = 2.0
#: The bound where the dtype's range is exceeded: nothing can be decided there (a finite number,
#: so that verdicts and their evidence stay JSON).
OUT_OF_RANGE = float(np.finfo(np.float64).max / 4)


@dataclass(frozen=True)
class Semantics:
    """One way of computing the ratio of two boxes."""

    key: str  # names the evaluation (a safe npz name)
    rows: str  # which input's boxes index the rows of the result
    cols: str
    mode: str = "iou"
    plus_one: bool = False  # widths as x2 - x1 + 1 (pixel-inclusive coordinates)
    eps: float = 0.0  # added to the denominator
    shift: float = 0.0  # subtracted from x2 and y2 of both inputs first
    dtype_shift: bool = False  # the shift is rounded to the case's dtype (it is done in that dtype)
    #: whose documented domain the input must lie in ("" for none: the formula as written, anywhere)
    domain: str = ""
    #: the dtype areas, products and the division are computed in ("": the case's); overlap
    #: widths are always computed in the case's dtype
    compute: str = ""
    #: the dtype of the result ("": the case's float dtype; float32 for integer inputs, as torch's true division)
    result: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _shifted(boxes: np.ndarray, sem: Semantics) -> np.ndarray:
    b = np.asarray(boxes)
    if not sem.shift:
        return b.astype(np.float64)
    delta = np.array([0, 0, sem.shift, sem.shift], dtype=b.dtype if sem.dtype_shift else np.float64)
    shifted: np.ndarray = (b - delta).astype(np.float64) if sem.dtype_shift else b.astype(np.float64) - delta
    return shifted


def pairwise(rows: np.ndarray, cols: np.ndarray, sem: Semantics, dtype: str, compute: str = "") -> tuple[np.ndarray, np.ndarray]:
    """(the ratio in float64, the bound on |computed in ``dtype`` - ratio|).

    Widths are the one step whose rounding decides whether boxes overlap at all: a difference of
    two ``dtype`` numbers (and the + 1) is correctly rounded in every IEEE implementation, so its
    error is taken as it is in ``dtype``, and an overlap width that is <= 0 there is exactly 0
    whoever computes it.  Products, sums and the division add first-order terms.  With
    ``compute`` (a wider dtype than ``dtype``), areas and everything after the overlap widths are
    rounded in ``compute`` (torchvision's float16 upcast).
    """
    r, c = _shifted(rows, sem), _shifted(cols, sem)
    one = 1.0 if sem.plus_one else 0.0
    wide = compute or dtype
    u = UNIT_ROUNDOFF[wide]
    rx1, ry1, rx2, ry2 = (r[:, k][:, None] for k in range(4))
    cx1, cy1, cx2, cy2 = (c[:, k][None, :] for k in range(4))

    def width(lo: np.ndarray, hi: np.ndarray, in_dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(exact width, its rounding error in ``in_dtype``, the width as ``in_dtype`` computes it)."""
        w = hi - lo + one
        if in_dtype == "float64":
            return w, UNIT_ROUNDOFF["float64"] * (np.abs(hi - lo) + np.abs(w)), w
        low = np.dtype(in_dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            rounded = ((hi.astype(low) - lo.astype(low)) + low.type(one)).astype(np.float64)
            err = np.abs(rounded - w)
        return w, err, rounded

    rw, rwe, _ = width(rx1, rx2, wide)
    rh, rhe, _ = width(ry1, ry2, wide)
    cw, cwe, _ = width(cx1, cx2, wide)
    ch, che, _ = width(cy1, cy2, wide)
    iw, iwe, iw_low = width(np.maximum(rx1, cx1), np.minimum(rx2, cx2), dtype)
    ih, ihe, ih_low = width(np.maximum(ry1, cy1), np.minimum(ry2, cy2), dtype)
    disjoint = (iw_low <= 0) | (ih_low <= 0)  # the dtype's overlap is exactly 0
    iw, ih = np.maximum(iw, 0.0), np.maximum(ih, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # an Inf corner (as written): a non-finite bound is out of range below
        ra, ca, inter = rw * rh, cw * ch, iw * ih
        rae = rwe * np.abs(rh) + rhe * np.abs(rw) + u * np.abs(ra)
        cae = cwe * np.abs(ch) + che * np.abs(cw) + u * np.abs(ca)
        ie = np.where(disjoint, inter, iwe * ih + ihe * iw + u * inter)
    if sem.mode == "iof":
        den, dene = ra + sem.eps, rae + u * np.abs(ra)
        largest = np.abs(ra)
    else:
        den = ra + ca - inter + sem.eps
        dene = rae + cae + ie + 3 * u * (np.abs(ra) + np.abs(ca) + inter)
        largest = np.abs(ra) + np.abs(ca)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = inter / den
        bound = SAFETY * ((ie + np.abs(ratio) * dene) / np.abs(den) + u * np.abs(ratio))
    bound = np.where(disjoint & (inter == 0), 0.0, bound)
    # an intermediate beyond the dtype's range (float16: 65504) makes the dtype's result inf/NaN
    overflow = largest * (1 + 8 * u) >= np.finfo(wide).max
    bound = np.where(overflow | ~np.isfinite(bound), OUT_OF_RANGE, bound)
    # a finite overlap over an infinite denominator (an Inf corner, as written) is 0 in every dtype
    bound = np.where(np.isfinite(inter) & np.isinf(den), 0.0, bound)
    return ratio, bound


def arithmetic(dtype: str) -> str:
    """The float dtype a case's boxes are computed in (integers: float32, whose rounding of exact
    integer widths is nil, so the bound is that of the final float32 division)."""
    return dtype if dtype in UNIT_ROUNDOFF else "float32"


def result_dtype(inputs: Mapping[str, np.ndarray], sem: Semantics) -> str:
    """The dtype ``sem`` says the result has."""
    return sem.result or arithmetic(str(inputs["boxes1"].dtype))


def evaluate(inputs: Mapping[str, np.ndarray], sem: Semantics) -> tuple[np.ndarray, np.ndarray]:
    """``sem`` on a case's inputs: (result, rounding bound) in the orientation ``sem`` names.

    Raises InvalidInput where the input lies outside ``sem``'s domain (parity.ops.box_iou.domain)
    or has no pairwise form ([..., N, 4] with equal leading dimensions).
    """
    reason = problem(inputs, sem.domain, sem.mode) if sem.domain else None
    if reason:
        raise InvalidInput(reason)
    rows, cols = np.asarray(inputs[sem.rows]), np.asarray(inputs[sem.cols])
    if rows.ndim < 2 or cols.ndim < 2 or rows.shape[-1] != 4 or cols.shape[-1] != 4 or rows.shape[:-2] != cols.shape[:-2]:
        raise InvalidInput(f"boxes of shapes {rows.shape} and {cols.shape} have no pairwise [..., N, 4] x [..., M, 4] form")
    dtype = arithmetic(str(rows.dtype))
    lead = rows.shape[:-2]
    batch = int(np.prod(lead, dtype=np.int64))
    r, c = rows.reshape(batch, *rows.shape[-2:]), cols.reshape(batch, *cols.shape[-2:])
    pairs = [pairwise(a, b, sem, dtype, sem.compute) for a, b in zip(r, c)]
    n, m = rows.shape[-2], cols.shape[-2]
    ratio = np.stack([p[0] for p in pairs]) if pairs else np.zeros((0, n, m))
    bound = np.stack([p[1] for p in pairs]) if pairs else np.zeros((0, n, m))
    return ratio.reshape(*lead, n, m), bound.reshape(*lead, n, m)
