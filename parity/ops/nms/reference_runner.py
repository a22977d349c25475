"""The float64 reference as a worker runner: every semantics the header lists."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from parity.engine.errors import Unsupported

from parity.ops.nms.reference import Semantics, batched_boxes, introsort_order, nms

#: The reference's outputs per semantics: ``KEY.keep`` and these.
FIELDS = ("keep", "suppressor", "suppressor_iou", "near", "order")
#: Present where the input is outside torchvision's documented domain but MindSpore's packed input is valid.
UNDEFINED_FOR_TORCHVISION = "undefined_for_torchvision"


def undefined(arrays: dict[str, np.ndarray], batched: bool) -> str | None:
    """Why both documentations leave the call undefined (None: it is defined): boxes [N, 4] and
    scores [N] of one float dtype (torchvision: "boxes (Tensor[N, 4])", "scores (Tensor[N])";
    MindSpore: bboxes (N, 5), float16 or float32), idxs [N] for batched_nms."""
    boxes, scores = arrays["boxes"], arrays["scores"]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        return f"boxes of shape {boxes.shape}, not [N, 4]"
    if scores.shape != (len(boxes),):
        return f"scores of shape {scores.shape} for {len(boxes)} boxes, not [N]"
    if boxes.dtype.kind != "f" or scores.dtype != boxes.dtype:
        return f"boxes {boxes.dtype} and scores {scores.dtype}: one float dtype expected"
    if batched and arrays["idxs"].shape != (len(boxes),):
        return f"idxs of shape {arrays['idxs'].shape} for {len(boxes)} boxes, not [N]"
    return None


def packable(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """The scores as the migration note's packing ``concat(boxes, scores)`` in the boxes' dtype
    makes them, where that gives MindSpore a valid [N, 5] input torchvision's documentation does not
    define (scores [N, 1], as the note writes them; scores of another float dtype)."""
    boxes, scores = arrays["boxes"], arrays["scores"]
    if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.dtype not in (np.float16, np.float32):
        return None
    if scores.dtype.kind != "f" or scores.shape not in ((len(boxes),), (len(boxes), 1)):
        return None
    return scores.reshape(-1).astype(boxes.dtype)


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray], kernel: ModuleType | None = None) -> dict[str, np.ndarray]:
    """Every semantics in ``header``; ``kernel`` replaces the reference module (mutation testing)."""
    nms_of = kernel.nms if kernel is not None else nms
    batched = bool(header["attrs"]["batched"])
    problem = undefined(arrays, batched)
    packed = packable(arrays)
    if problem and (packed is None or undefined({**arrays, "scores": packed}, batched)):
        raise Unsupported(f"undefined: {problem}")
    given, scores = arrays["boxes"], arrays["scores"] if packed is None else packed
    dtype = str(given.dtype)
    boxes, coord_error = batched_boxes(given, arrays["idxs"], dtype) if batched else (given, 0.0)
    outputs = {UNDEFINED_FOR_TORCHVISION: np.array([1])} if problem else {}
    threshold = float(header["attrs"]["iou_threshold"])
    for fields in header["semantics"]:
        sem = Semantics(**fields)
        if batched and sem.order == "introsort":
            result = per_class(given, scores, arrays["idxs"], threshold, sem, dtype)
        else:
            result = nms_of(boxes, scores, threshold, sem, dtype, coord_error)
        outputs.update({f"{sem.key}.{k}": v for k, v in result.items()})
    return outputs


def per_class(boxes: np.ndarray, scores: np.ndarray, idxs: np.ndarray, threshold: float, sem: Semantics, dtype: str) -> dict[str, np.ndarray]:
    """paddle.vision.ops.nms with category_idxs, step for step: NMS per category (its boxes in
    index order, sorted by Paddle's argsort), then every kept box sorted again by Paddle's argsort
    (both unstable: parity.ops.nms.introsort), so ties order differently than one NMS
    over offset boxes."""
    n = len(scores)
    kept = np.zeros(n, dtype=bool)
    suppressor, pair_iou = np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    near: list[np.ndarray] = []
    for category in np.unique(idxs):
        members = np.flatnonzero(idxs == category)
        result = nms(boxes[members], scores[members], threshold, sem, dtype)
        kept[members[result["keep"]]] = True
        hit = result["suppressor"] >= 0
        suppressor[members[hit]] = members[result["suppressor"][hit]]
        pair_iou[members[hit]] = result["suppressor_iou"][hit]
        rows = result["near"].copy()
        rows[:, :2] = members[rows[:, :2].astype(np.int64)]
        near.append(rows)
    selected = np.flatnonzero(kept)
    keep = selected[introsort_order(scores[selected])] if len(selected) else selected
    return {"keep": keep.astype(np.int64), "suppressor": suppressor, "suppressor_iou": pair_iou,
            "near": np.concatenate(near or [np.zeros((0, 4))]), "order": introsort_order(scores)}
