"""nms on ONNX Runtime (ONNX NonMaxSuppression) and Paddle (paddle.vision.ops.nms): the reference's
semantics for each (what each documents, and what each declared divergence predicts) against the
framework itself on hand-built cases, each with its expected kept list worked out by hand, and the
standard suite end to end with every nms runner (each framework in a worker process of its own)."""
import json

import numpy as np
import pytest

from parity import ops
from parity.engine.model import Status
from parity.engine.pool import Worker
from parity.ops.nms import divergences, semantics, suites
from parity.ops.nms.reference import Semantics, nms
from parity.ops.nms.reference_runner import per_class
from parity.ops.nms.signature import Attrs
from tests.test_cli import parity

pytest.importorskip("onnxruntime", reason="ONNX Runtime is the onnx extra (pip install -e '.[onnx]')")
pytest.importorskip("paddle", reason="Paddle is the paddle extra (pip install -e '.[paddle]')")

RUNNERS = ("torchvision", "mindspore", "onnxruntime", "paddle")


@pytest.fixture(scope="module")
def ort(tmp_path_factory):
    w = Worker("onnxruntime", tmp_path_factory.mktemp("logs") / "onnxruntime.log", module=ops.get("nms").runners["onnxruntime"])
    yield w
    w.stop()


@pytest.fixture(scope="module")
def pd(tmp_path_factory):
    w = Worker("paddle", tmp_path_factory.mktemp("logs") / "paddle.log", module=ops.get("nms").runners["paddle"])
    yield w
    w.stop()


def _send(worker: Worker, boxes, scores, t: float, dtype: str = "float32", idxs=None):
    arrays = {"boxes": np.asarray(boxes, dtype).reshape(-1, 4), "scores": np.asarray(scores, dtype)}
    if idxs is not None:
        arrays["idxs"] = np.asarray(idxs, np.int64)
    worker.send({"case_id": "extra", "port": "mapped", "attrs": Attrs(t, idxs is not None).to_json()}, arrays)
    return worker.receive("extra")


def _kept(worker: Worker, boxes, scores, t: float, **kw) -> list[int]:
    result = _send(worker, boxes, scores, t, **kw)
    assert result.status is Status.OK, result.message
    return result.outputs["keep"].tolist()


def _reference(boxes, scores, t: float, sem, dtype: str = "float32") -> list[int]:
    b, s = np.asarray(boxes, dtype), np.asarray(scores, dtype)
    return nms(b, s, t, sem, dtype)["keep"].tolist()


# (name, boxes, scores, threshold, kept under the ONNX spec, kept under torchvision's documentation), by hand:
HAND = [
    # IoU 1/2 exactly (all intermediates exact): "strictly greater" suppresses, so both are kept under both
    ("iou-at-0.5", [[0, 0, 2, 1], [0, 0, 1, 1]], [0.9, 0.8], 0.5, [0, 1], [0, 1]),
    # IoU 3/10 = float32(0.3) > 0.3: torchvision's float64 threshold suppresses, ONNX's tensor(float) threshold does not
    ("iou-3/10-at-0.3", [[0, 0, 10, 1], [0, 0, 3, 1]], [0.9, 0.8], 0.3, [0, 1], [0]),
    # IoU 0.6 > 0.5: the second is suppressed
    ("iou-above", [[0, 0, 10, 10], [0, 0, 10, 6]], [0.9, 0.8], 0.5, [0], [0]),
    # equal scores, a chain of IoU 1/3 at t=0.3: visited by ascending index, 0 removes 1, 2 removes 3, 4 stays
    ("equal-scores-chain", [[0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10], [15, 0, 25, 10], [20, 0, 30, 10]], [0.5] * 5, 0.3, [0, 2, 4], [0, 2, 4]),
    # equal scores, identical boxes: the lowest index survives
    ("equal-scores-identical", [[0, 0, 10, 10]] * 3, [0.5] * 3, 0.5, [0], [0]),
    # an inverted box is the box of its corners for ONNX (IoU 81/119 with the next); torchvision sees no overlap
    ("inverted", [[10, 10, 0, 0], [1, 1, 11, 11]], [0.9, 0.8], 0.5, [0], [0, 1]),
    ("inverted-low-score", [[1, 1, 11, 11], [10, 10, 0, 0], [30, 30, 40, 40]], [0.9, 0.8, 0.7], 0.5, [0, 2], [0, 1, 2]),
    # order is by decreasing score, not by index
    ("score-order", [[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10]], [0.2, 0.9, 0.5], 0.5, [1, 2, 0], [1, 2, 0]),
]


@pytest.mark.parametrize("name, boxes, scores, t, onnx, tv", HAND, ids=[h[0] for h in HAND])
def test_onnxruntime_and_the_onnx_semantics_agree_on_hand_built_cases(ort, name, boxes, scores, t, onnx, tv):
    assert _kept(ort, boxes, scores, t) == onnx
    assert _reference(boxes, scores, t, semantics.ONNX) == onnx
    assert _reference(boxes, scores, t, semantics.DOCUMENTED) == tv


def test_where_the_documentations_differ_the_pair_is_a_documented_divergence(tmp_path):
    """Both follow their documentation on the edge cases inverted and iou-exactly-0.3: the
    difference is named by the documented divergence that applies, nothing else is."""
    for keyword, name in (("inverted", divergences.ONNX_CORNERS), ("0.3-float32", divergences.ONNX_THRESHOLD)):
        out = tmp_path / keyword
        r = parity("run", "--op", "nms", "--suite", "edge", "-k", keyword, "--runners", "torchvision,onnxruntime", "--out", str(out))
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        doc = json.loads((out / "parity.json").read_text())
        f32 = [c for c in doc["cases"] if "-f32-" in c["id"]]
        assert f32
        for c in f32:
            verdicts = {(x["actual"], x["expected"]): (x["verdict"], x.get("divergence")) for x in c["comparisons"]}
            assert verdicts[("onnxruntime", "reference")][0] == "PASS"
            assert verdicts[("torchvision", "reference")][0] == "PASS"
            assert verdicts[("onnxruntime", "torchvision")] == ("EXPECTED_DIVERGENCE", name)


@pytest.mark.parametrize("batched", [False, True])
def test_onnxruntime_is_the_onnx_semantics_on_random_sets(ort, batched):
    rng = np.random.default_rng(31)
    for k in range(20):
        n = int(rng.integers(2, 60))
        boxes = suites.detector_boxes(rng, n).astype(np.float32)
        scores = (np.round(rng.uniform(0, 1, n), 1) if k % 2 else rng.uniform(0, 1, n)).astype(np.float32)
        t = (0.3, 0.5, 0.7)[k % 3]
        idxs = rng.integers(0, 3, n) if batched else None
        got = _kept(ort, boxes, scores, t, idxs=idxs)
        b = boxes.astype(np.float64)
        if batched:
            b = b + (idxs * (b.max() + 1))[:, None]  # NMS per class: classes never overlap
        assert got == nms(b, scores, t, semantics.ONNX, "float32")["keep"].tolist()


def test_onnxruntimes_nan_scores_follow_the_predicted_heap(ort):
    """Declared: onnxruntime-nms-nan-score-heap-order. Disjoint boxes show the visiting order itself."""
    nan = float("nan")
    disjoint = [[100 * i, 0, 100 * i + 10, 10] for i in range(6)]
    scores = [0.1, nan, 0.3, nan, 0.2, 0.9]
    assert _kept(ort, disjoint, scores, 0.5) == [5, 2, 4, 0, 3, 1]  # NaN last here, not first
    assert _reference(disjoint, scores, 0.5, Semantics("heap", order="heap")) == [5, 2, 4, 0, 3, 1]
    assert _reference(disjoint, scores, 0.5, semantics.ONNX) == [1, 3, 5, 2, 4, 0]
    rng = np.random.default_rng(34)
    for _ in range(20):
        n = int(rng.integers(3, 50))
        boxes = suites.detector_boxes(rng, n).astype(np.float32)
        s = rng.uniform(0, 1, n).astype(np.float32)
        s[rng.random(n) < 0.3] = np.nan
        heap = Semantics("heap", threshold="dtype", corners="any", order="heap")
        assert _kept(ort, boxes, s, 0.5) == _reference(boxes, s, 0.5, heap)


def test_onnxruntime_takes_float32_only_and_a_threshold_in_0_1(ort):
    """The spec's tensor(float) boxes and scores; its iou_threshold range [0, 1]; N = 0 keeps nothing."""
    box = [[0, 0, 10, 10], [1, 1, 11, 11]]
    for dtype in ("float16", "float64"):
        assert _send(ort, box, [0.9, 0.8], 0.5, dtype).status is Status.UNSUPPORTED
    outside = _send(ort, box, [0.9, 0.8], 1.5)
    assert outside.status is Status.ERROR and "iou_threshold must be in range [0, 1]" in outside.message
    assert _kept(ort, np.zeros((0, 4)), np.zeros(0), 0.5) == []


PADDLE_THRESHOLD = Semantics("pd_t", threshold="dtype")
PADDLE_TIES = Semantics("pd_ties", order="introsort")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, boxes, scores, t, onnx, tv", HAND, ids=[h[0] for h in HAND])
def test_paddle_is_its_documented_semantics_but_for_the_float32_threshold(pd, dtype, name, boxes, scores, t, onnx, tv):
    """Documented: torchvision's semantics (corners as given, IoU > t, decreasing score); declared:
    the threshold is compared as float32 (iou-3/10-at-0.3 keeps both, float64 included)."""
    got = _kept(pd, boxes, scores, t, dtype=dtype)
    hand = [0, 1] if name == "iou-3/10-at-0.3" else tv
    assert got == hand
    predicted = divergences.PADDLE_THRESHOLD if name == "iou-3/10-at-0.3" else None
    case = suites.case("x", "x", Attrs(t), np.array(boxes, float), np.array(scores), dtype, suites.Port.MAPPED, ())
    assert (predicted in {d.name for d in divergences.applicable(case, "paddle")}) == (predicted is not None)
    assert _reference(boxes, scores, t, PADDLE_THRESHOLD if predicted else semantics.DOCUMENTED, dtype) == hand


def test_paddles_equal_scores_follow_the_predicted_introsort(pd):
    """Declared: paddle-nms-equal-scores-unstable-argsort; 40 disjoint boxes of one score, by hand
    (introsort's partitions of 40 equal keys), and overlapping tied sets against the prediction."""
    disjoint = [[100 * i, 0, 100 * i + 10, 10] for i in range(40)]
    by_hand = [30, *range(21, 30), 20, *range(31, 40), 10, *range(1, 10), 0, *range(11, 20)]
    assert _kept(pd, disjoint, [0.5] * 40, 0.5) == by_hand
    assert _reference(disjoint, [0.5] * 40, 0.5, PADDLE_TIES) == by_hand
    rng = np.random.default_rng(32)
    differs = 0
    for _ in range(20):
        n = int(rng.integers(17, 120))
        boxes = suites.detector_boxes(rng, n).astype(np.float32)
        scores = np.round(rng.uniform(0, 1, n), 1).astype(np.float32)
        got = _kept(pd, boxes, scores, 0.5)
        assert got == _reference(boxes, scores, 0.5, PADDLE_TIES)
        differs += got != _reference(boxes, scores, 0.5, semantics.DOCUMENTED)
    assert differs > 0  # the stable order would not explain them


def test_paddle_batched_nms_and_dtypes(pd):
    rng = np.random.default_rng(33)
    n = 60
    boxes, scores, idxs = suites.detector_boxes(rng, n).astype(np.float32), rng.uniform(0, 1, n).astype(np.float32), rng.integers(0, 3, n)
    b = boxes.astype(np.float64) + (idxs * (boxes.max() + 1.0))[:, None]
    assert _kept(pd, boxes, scores, 0.5, idxs=idxs) == nms(b, scores, 0.5, semantics.DOCUMENTED, "float32")["keep"].tolist()
    assert _send(pd, boxes, scores, 0.5, "float16").status is Status.UNSUPPORTED
    ties = np.round(scores, 1).astype(np.float32)  # per category, then all kept boxes: both sorted unstably
    predicted = per_class(boxes, ties, idxs, 0.5, PADDLE_TIES, "float32")["keep"].tolist()
    assert _kept(pd, boxes, ties, 0.5, idxs=idxs) == predicted
    assert predicted != nms(b, ties, 0.5, semantics.DOCUMENTED, "float32")["keep"].tolist()
    assert _kept(pd, np.zeros((0, 4)), np.zeros(0), 0.5) == []


@pytest.mark.slow
def test_standard_suite_with_every_nms_runner(tmp_path):
    r = parity("run", "--op", "nms", "--suite", "standard", "--runners", ",".join(RUNNERS), "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads((tmp_path / "parity.json").read_text())["summary"]
    assert set(summary["onnxruntime vs reference"]) <= {"PASS", "UNSUPPORTED"}, summary
    assert summary["onnxruntime vs reference"]["PASS"] == sum(1 for c in ops.get("nms").cases("standard") if c.dtype == "float32")
    assert set(summary["onnxruntime vs torchvision"]) <= {"PASS", "EXPECTED_DIVERGENCE", "UNSUPPORTED"}, summary
    assert set(summary["paddle vs reference"]) <= {"PASS", "EXPECTED_DIVERGENCE", "UNSUPPORTED"}, summary
    assert set(summary["paddle vs torchvision"]) <= {"PASS", "EXPECTED_DIVERGENCE", "UNSUPPORTED"}, summary
