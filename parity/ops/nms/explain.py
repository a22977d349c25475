"""Why two kept lists differ, in words a porting user can act on: which boxes, the IoU of the
pair that decided each against the threshold, score ties, positions instead of indices."""
from __future__ import annotations

import numpy as np

from parity.engine.model import Case

#: At most this many boxes are named per kind of difference.
NAMED = 4
#: At most this many kept indices are listed.
LISTED = 12


def _iou(boxes: np.ndarray, i: int, j: int) -> float:
    a, b = boxes[i].astype(np.float64), boxes[j].astype(np.float64)
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _ties(case: Case, boxes: list[int]) -> list[str]:
    s = case.scores
    notes = []
    for i in boxes:
        same = [int(k) for k in np.flatnonzero(s == s[i]) if k != i]
        if same:
            notes.append(f"box {i} ties on score {float(s[i]):g} with {same[:NAMED]}")
    return notes


def _listed(kept: list[int]) -> str:
    return f"[{', '.join(map(str, kept[:LISTED]))}{', ...' if len(kept) > LISTED else ''}]"


def differences(case: Case, actual: np.ndarray, expected: np.ndarray, ref: dict[str, np.ndarray], key: str, who: str) -> str:
    """One message naming the boxes in which ``actual`` (``who``) and ``expected`` differ."""
    boxes, t = case.inputs["boxes"], case.attrs.iou_threshold
    got, want = [int(v) for v in actual], [int(v) for v in expected]
    parts = [f"{who} keeps {len(got)} boxes {_listed(got)}, the reference {len(want)} {_listed(want)}"]
    only_got = [i for i in got if i not in set(want)]
    only_want = [i for i in want if i not in set(got)]
    suppressor, pair_iou = ref[f"{key}.suppressor"], ref[f"{key}.suppressor_iou"]
    for j in only_got[:NAMED]:
        if 0 <= j < len(suppressor) and suppressor[j] >= 0:
            parts.append(f"box {j} kept by {who} is suppressed in the reference by box {int(suppressor[j])} (IoU {pair_iou[j]:.9g} > {t:g})")
        else:
            parts.append(f"box {j} kept by {who} is not a kept box of the reference" + ("" if 0 <= j < len(suppressor) else " (no such input box)"))
    for j in only_want[:NAMED]:
        rivals = [(i, _iou(boxes, i, j)) for i in got if 0 <= i < len(boxes)]
        rivals = [r for r in rivals if np.isfinite(r[1])]
        worst = max(rivals, key=lambda r: r[1], default=None)
        why = f"; its largest IoU with a box {who} kept: {worst[1]:.9g} (box {worst[0]}) vs threshold {t:g}" if worst else ""
        parts.append(f"box {j} kept by the reference is missing{why}")
    if not only_got and not only_want and got != want:
        p = next(k for k, (a, b) in enumerate(zip(got, want)) if a != b)
        parts.append(f"same boxes in another order: first at position {p} ({who} box {got[p]}, reference box {want[p]})")
    order = ref[f"{key}.order"]
    rank = {int(b): p for p, b in enumerate(order)}
    if only_got and got == sorted(rank[i] for i in want if i in rank):
        parts.append("what came back are the positions of the reference's kept boxes in the score-sorted order, not input indices")
    parts += _ties(case, (only_got + only_want)[:NAMED])
    near = ref[f"{key}.near"]
    if len(near):
        i, j, iou, bound = near[0]
        parts.append(f"{len(near)} decisions lie within rounding of the threshold (boxes {int(i)}, {int(j)}: IoU {iou:.9g}, "
                     f"{case.dtype} rounding bound {bound:.3g})")
    return "; ".join(parts)
