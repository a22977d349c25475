"""nms's declared divergences, each with the evidence it was declared on.

A divergence with ``predict`` says exactly what the framework computes (a reference semantics the
judge evaluates and holds the framework to); ``documented_raises`` marks a documented error the
framework does not raise.  MindSpore's CPU kernel (nms_with_mask_cpu_kernel.cc) computes IoU
as torchvision does (continuous widths, no + 1, suppress on IoU > threshold): neither the IoU
convention nor the comparison differs.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from parity.engine import declared
from parity.engine.declared import Declared
from parity.engine.model import Case, Port
from parity.ops.nms.reference import Semantics


@dataclass(frozen=True)
class Divergence(Declared[Semantics]):
    #: the framework documents an error here; the prediction is the reference's (empty) result instead
    documented_raises: bool = False


def _mapped(case: Case) -> bool:
    return case.port is Port.MAPPED and len(case.scores) > 0


def _with(sem: Semantics, suffix: str, **changes: str) -> Semantics:
    return dataclasses.replace(sem, key=f"{sem.key}_{suffix}", **changes)


OUTPUT_IDX = "mindspore-nms-output-idx-is-sorted-position"
BITONIC = "mindspore-nms-equal-scores-bitonic-order"
THRESHOLD = "mindspore-nms-threshold-rounded-to-dtype"
EMPTY = "mindspore-nms-empty-input-does-not-raise"
INF_SCORE = "mindspore-nms-inf-score-reads-past-input"
ONNX_CORNERS = "onnxruntime-nms-boxes-are-any-diagonal-corners"
ONNX_THRESHOLD = "onnxruntime-nms-threshold-is-float32"
ONNX_NAN = "onnxruntime-nms-nan-score-heap-order"
PADDLE_THRESHOLD = "paddle-nms-threshold-is-float32"
PADDLE_TIES = "paddle-nms-equal-scores-unstable-argsort"


def _inverted(case: Case) -> bool:
    b = case.inputs["boxes"]
    return b.ndim == 2 and b.shape[1:] == (4,) and bool(((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])).any())


def _ties(case: Case) -> bool:
    s = case.scores
    return len(np.unique(s)) < len(s)


def _threshold_not_float32(case: Case) -> bool:
    t = case.attrs.iou_threshold
    return bool(float(np.float32(t)) != t)


DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        OUTPUT_IDX, "mindspore",
        "NMSWithMask's output_idx is 0, 1, ..., N-1: positions in output_boxes (the boxes sorted by decreasing score), "
        "not input indices; output_idx[selected_mask] (the migration note's reading) is torchvision's kept list only "
        "where the input is already sorted by score. The kept boxes themselves agree. Exact translation: sort the "
        "boxes yourself and read the mask through that order (parity translate --op nms).",
        False,
        "Measured on CPU (mindspore 2.10.0): boxes [[0,0,4,4],[0,0,3,3],[0,0,2,2],[0,0,1,1]], scores [0.5,0.7,0.6,0.8], "
        "t=0.4: output_idx [0 1 2 3], mask [T T F F], so idx[mask] = [0 1] where torchvision gives [3 1]; source: "
        "Preprocess() sets sel_idx[i] = i. On 200 random sets of 30 float32 boxes (x1, y1 ~ U(0, 100), w, h ~ U(0, 50), "
        "scores ~ U(0, 1), t=0.5) the kept SET idx[mask] differs from torchvision's on 126/200: exactly where some box "
        "is suppressed (130/200; the other 4 by coincidence), the list on 200/200; matching output_boxes rows back to "
        "input rows leaves 0/200.",
        _mapped, lambda s: _with(s, "pos", output="position"),
    ),
    Divergence(
        BITONIC, "mindspore",
        "NMSWithMask sorts scores with an in-place bitonic network (ascending, padded to a power of two with the "
        "dtype's largest value, read backwards): equal scores are not visited by ascending index as torchvision's "
        "stable CPU sort does, so which of two tied overlapping boxes survives differs, and NaN scores land where the "
        "network leaves them. The order is deterministic (every stage compares disjoint pairs).",
        False,
        "Source: nms_with_mask_cpu_kernel.cc NmsBitonicSortByKeyKernel (swap on data[tid] > data[tid ^ j]) and "
        "PopulateOutput (index_buff[num - 1 - i]); torchvision nms_kernel.cpp: scores.sort(stable=True, descending=True). "
        "Measured: scores rounded to 0.1 (ties) on 200 sets of 30 float32 boxes at t=0.5: the kept boxes (output_boxes[mask] "
        "against boxes[torchvision's keep]) differ in order on 200/200, as a set on 16/200.",
        _mapped, lambda s: _with(s, "bitonic", order="bitonic"),
    ),
    Divergence(
        THRESHOLD, "mindspore",
        "NMSWithMask stores iou_threshold as a float32 attribute and compares IoU > threshold cast to the input dtype; "
        "torchvision compares against the float64 threshold. An IoU equal to the dtype's rounding of a threshold "
        "that is not representable (0.3 in float32: 0.30000001) is suppressed by torchvision, kept by MindSpore. "
        "Exact translation: pass the threshold floored to the dtype.",
        False,
        "Source: iou_value_ = GetValue<float>(...); IouDecision: !(iou > static_cast<T>(IOU_value)); torchvision "
        "nms(..., double iou_threshold): if (ovr > iou_threshold). Measured with boxes [0,0,10,1] and [0,0,3,1] "
        "(IoU 3/10, exact intermediates) at t=0.3 in float32: torchvision keeps [0], MindSpore keeps both.",
        _mapped, lambda s: _with(s, "t", threshold="dtype"),
    ),
    Divergence(
        INF_SCORE, "mindspore",
        "A +inf score sorts above the padding NMSWithMask's bitonic sort adds (the dtype's largest value) when N is not "
        "a power of two: the kernel then reads a box past the end of its input (uninitialized memory, different on "
        "every call) into output_boxes, keeps that slot selected, and drops the +inf box. Predicted: the slot is "
        "selected and suppresses nothing (what it holds is not a box). Clamp scores to finite values first.",
        False,
        "Measured on CPU (mindspore 2.10.0): boxes [0,0,10,10], [1,1,11,11], [30,30,40,40] with scores [inf, 0.5, 0.7]: "
        "output_boxes[0] = [3.07e-41, 1.12e-43, 0, 6.87e-44, 0] on one call, [0, 1.12e-43, 0, 9.11e-44, 0] on the next; "
        "mask [T, T, T]. Source: data_buff padded with numeric_limits<T>::max(), PopulateOutput reads index_buff[num - 1 - i].",
        lambda case: _mapped(case) and bool(np.isposinf(case.scores).any()) and len(case.scores) & (len(case.scores) - 1) != 0,
        lambda s: _with(s, "slot", padding="slot"),
    ),
    Divergence(
        EMPTY, "mindspore",
        "NMSWithMask documents a ValueError for an empty input (the first dimension must be > 0), but returns three "
        "empty tensors, as torchvision returns an empty list: porting code that relied on the error never sees it. "
        "Predicted: an empty kept list.",
        False,
        "MindSpore API docs, mindspore.ops.NMSWithMask: 'ValueError: if the first dimension of input Tensor is less "
        "than or equal to 0'. Measured on CPU (mindspore 2.10.0): NMSWithMask(0.5)(Tensor(zeros((0, 5), float32))) "
        "returns shapes (0, 5), (0,), (0,) and raises nothing.",
        lambda case: len(case.scores) == 0, documented_raises=True,
    ),
    # Documented differences: ONNX Runtime follows the ONNX spec (the reference's ``onnx`` semantics);
    # where that spec's result is not torchvision's, both follow their documentation.
    Divergence(
        ONNX_CORNERS, "onnxruntime",
        "ONNX NonMaxSuppression takes a box as any diagonal pair of corners (normalised to min/max): an inverted box "
        "[10, 10, 0, 0] is the box [0, 0, 10, 10] and suppresses what overlaps it; torchvision takes (x1, y1, x2, y2) "
        "as given (an inverted box has a positive area and overlaps nothing).",
        True,
        "ONNX spec (onnx.defs NonMaxSuppression, center_point_box=0): '(y1, x1) and (y2, x2) are the coordinates of any "
        "diagonal pair of box corners'. Measured (onnxruntime 1.32.0): boxes [10,10,0,0], [1,1,11,11], scores [0.9, 0.8], "
        "t=0.5 keep [0]; torchvision keeps [0, 1].",
        _inverted,
    ),
    Divergence(
        ONNX_THRESHOLD, "onnxruntime",
        "ONNX NonMaxSuppression's iou_threshold is a tensor(float): ONNX Runtime compares the float32 IoU with float32(t), "
        "torchvision with the float64 t, so an IoU equal to float32(t) above t (3/10 at t=0.3) is kept by ONNX Runtime, "
        "suppressed by torchvision.",
        True,
        "ONNX spec: iou_threshold tensor(float), 'Boxes with IoU strictly greater than this threshold are suppressed'. "
        "Measured (onnxruntime 1.32.0): boxes [0,0,10,1], [0,0,3,1] at t=0.3 in float32 keep [0, 1]; torchvision keeps [0].",
        _threshold_not_float32,
    ),
    Divergence(
        ONNX_NAN, "onnxruntime",
        "ONNX Runtime visits boxes from a std::priority_queue ordered by score (then lower index); a NaN score compares "
        "false with every score, so NaN boxes are not visited first (as torch sorts NaN, and the reference takes as the "
        "documented decreasing-score order) but where the heap leaves them, and which boxes they suppress or are "
        "suppressed by changes. Predicted: that heap (make_heap, then pop_heap per box) step for step. Replace NaN "
        "scores before calling.",
        False,
        "Source: onnxruntime/core/providers/cpu/object_detection/non_max_suppression.cc (priority_queue of score/index "
        "pairs). Measured (onnxruntime 1.32.0): 6 disjoint boxes with scores [0.1, nan, 0.3, nan, 0.2, 0.9] keep "
        "[5, 2, 4, 0, 3, 1]; boxes [0,0,10,10], [1,1,11,11], [30,30,40,40] with scores [0.5, nan, 0.9] keep [2, 1] "
        "where the NaN-first order keeps [1, 2].",
        lambda case: bool(np.isnan(case.scores).any()), lambda s: _with(s, "heap", order="heap"),
    ),
    Divergence(
        PADDLE_THRESHOLD, "paddle",
        "paddle.vision.ops.nms takes iou_threshold as a Python float but its kernel keeps it as a float32 attribute: "
        "IoU is compared with float32(t), so an IoU equal to float32(t) above t (3/10 at t=0.3) is kept, in float64 too; "
        "torchvision compares with the float64 t and suppresses it.",
        False,
        "Documented: 'Boxes with IoU > iou_threshold will be considered as overlapping boxes', iou_threshold(float). "
        "Measured (paddlepaddle 3.3.1, CPU): boxes [0,0,10,1], [0,0,3,1], scores [0.9, 0.8] at t=0.3 keep [0, 1] in "
        "float32 and in float64; torchvision keeps [0].",
        _threshold_not_float32, lambda s: _with(s, "pd_t", threshold="dtype"),
    ),
    Divergence(
        PADDLE_TIES, "paddle",
        "paddle.vision.ops.nms sorts by paddle.argsort(scores, descending=True), which is not stable: above 16 boxes "
        "equal scores are visited in the order libstdc++'s introsort leaves them, not by ascending index as torchvision's "
        "stable sort, so which of two tied overlapping boxes survives, and the kept order, differ. Predicted: that "
        "introsort step for step (parity.ops.nms.introsort); batched calls sort each category's boxes and then "
        "every kept box again, both with that argsort.",
        False,
        "Source: paddle/vision/ops.py nms (argsort without stable=True). Measured (paddlepaddle 3.3.1, CPU): 40 disjoint "
        "boxes of score 0.5 keep [30, 21, 22, ..., 29, 20, 31, ..., 39, 10, 1, ..., 9, 0, 11, ..., 19], the introsort's order.",
        _ties, lambda s: _with(s, "pd_ties", order="introsort"),
    ),
)


def applicable(case: Case, framework: str) -> tuple[Divergence, ...]:
    return declared.applicable(DIVERGENCES, case, framework)
