"""box_iou's invalid suite: each framework's real reaction to input outside its documentation
(torchvision measured here, MindSpore in a process of its own), held to the declared predictions."""
import json

import numpy as np
import pytest

from parity import ops
from parity.engine.model import RunResult, Status, Verdict
from parity.ops.box_iou import domain, semantics
from parity.ops.box_iou.invalid import invalid_cases
from parity.ops.box_iou.judge import judge
from parity.ops.box_iou.reference_runner import run as reference_run

from tests.test_box_iou import _mindspore_iou
from tests.test_cli import parity

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

CASES = {c.tags[1]: c for c in invalid_cases()}


def _torchvision(case) -> RunResult:
    try:
        out = torchvision.ops.box_iou(torch.from_numpy(np.asarray(case.boxes1)), torch.from_numpy(np.asarray(case.boxes2))).numpy()
    except Exception as exc:  # what torchvision raises is its result here
        return RunResult(case.id, "torchvision", Status.ERROR, {}, f"{type(exc).__name__}: {exc}")
    return RunResult(case.id, "torchvision", Status.OK, {"out": out})


def _judged(case, results):
    header = {"semantics": [s.to_json() for s in semantics.needed(case, tuple(results))]}
    try:
        ref = RunResult(case.id, "reference", Status.OK, reference_run(header, dict(case.inputs)))
    except Exception as exc:  # noqa: BLE001 - Unsupported: undefined for everyone
        ref = RunResult(case.id, "reference", Status.UNSUPPORTED, {}, str(exc))
    return {(c.actual, c.expected): c for c in judge(case, results, ref)}


def test_the_domains_follow_each_documentation():
    good = {"boxes1": np.array([[0, 0, 2, 2]], np.float32), "boxes2": np.array([[1, 1, 3, 3]], np.float32)}
    assert domain.problem(good, "torchvision") is None and domain.problem(good, "mindspore") is None
    neg = {"boxes1": np.array([[-3, -3, -1, -1]], np.float32), "boxes2": good["boxes2"]}
    assert "negative" in domain.problem(neg, "torchvision") and domain.problem(neg, "mindspore") is None  # MindSpore names no range
    batched = {k: v[None] for k, v in good.items()}
    assert domain.problem(batched, "torchvision") is None and "shape" in domain.problem(batched, "mindspore")
    ints = {k: v.astype(np.int64) for k, v in good.items()}
    assert domain.problem(ints, "torchvision") is None and "dtype" in domain.problem(ints, "mindspore")
    assert "mode" in domain.problem(good, "mindspore", "giou")
    touching = {"boxes1": np.array([[1, 1, 1, 3]], np.float32), "boxes2": good["boxes2"]}  # x1 == x2: no extent
    assert "degenerate" in domain.problem(touching, "torchvision") and "degenerate" in domain.problem(touching, "mindspore")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.attrs.mode == "iou"))
def test_torchvision_reacts_as_judged_and_nothing_is_unexpected(name):
    case = CASES[name]
    tv = _torchvision(case)
    c = _judged(case, {"torchvision": tv})[("torchvision", "reference")]
    assert not c.verdict.unexpected, c.message
    if tv.status is Status.OK and c.verdict is Verdict.PASS:  # inside its documentation: judged on numbers
        assert domain.problem(case.inputs, "torchvision") is None


def test_torchvision_predictions_are_checked_not_granted():
    nan = CASES["coordinate-nan"]
    tv = _torchvision(nan)
    assert np.isnan(tv.outputs["out"][0]).all() and np.isfinite(tv.outputs["out"][1]).all()  # NaN stays in its box's row
    assert _judged(nan, {"torchvision": tv})[("torchvision", "reference")].verdict is Verdict.EXPECTED_DIVERGENCE
    # numbers where the formula as written gives NaN are not the prediction: silent garbage
    filled = RunResult(nan.id, "torchvision", Status.OK, {"out": np.nan_to_num(tv.outputs["out"])})
    assert _judged(nan, {"torchvision": filled})[("torchvision", "reference")].verdict is Verdict.MISMATCH
    mixed = CASES["dtype-mismatch"]
    got = _torchvision(mixed)
    assert got.outputs["out"].dtype == np.float64  # torch's promotion, measured
    narrowed = RunResult(mixed.id, "torchvision", Status.OK, {"out": got.outputs["out"].astype(np.float32)})
    assert _judged(mixed, {"torchvision": narrowed})[("torchvision", "reference")].verdict is Verdict.MISMATCH
    # by hand: [[0,0,2,2]] vs [[1,1,3,3]]: 1 / (4 + 4 - 1) = 1/7 in each batch entry
    batched = _torchvision(CASES["boxes-3d"]).outputs["out"]
    assert batched.shape == (1, 2, 2) and abs(batched[0, 0, 0] - 1 / 7) < 1e-6


def test_mindspore_own_reactions_match_the_declared_ones():
    """MindSpore's measured outputs on undefined boxes are what its declared kernel predicts."""
    for name in ("inverted", "degenerate-zero-area", "coordinate-nan", "negative-coordinates"):
        case = CASES[name]
        ms = _mindspore_iou(case.boxes2, case.boxes1)  # the mapped call: anchor = boxes2, gt = boxes1
        c = _judged(case, {"mindspore": RunResult(case.id, "mindspore", Status.OK, {"out": ms})})[("mindspore", "reference")]
        assert c.verdict is Verdict.EXPECTED_DIVERGENCE, (name, c.message)
    ms = _mindspore_iou(CASES["degenerate-zero-area"].boxes2, CASES["degenerate-zero-area"].boxes1)
    assert ms[0, 0] == 1.0  # by hand: (1 - 1 + 1)^2 / (1 + 1 - 1)


@pytest.mark.slow
def test_invalid_suite_end_to_end(tmp_path):
    out = tmp_path / "run"
    r = parity("run", "--op", "box_iou", "--suite", "invalid", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((out / "parity.json").read_text())
    verdicts = {(c["id"], k["actual"], k["expected"]): k["verdict"] for c in doc["cases"] for k in c["comparisons"]}
    assert verdicts[("box_iou[invalid]-boxes1-3-columns", "mindspore", "reference")] == "PASS"
    assert verdicts[("box_iou[invalid]-boxes-3d", "torchvision", "reference")] == "PASS"
    assert "robustness" in r.stdout and len(doc["cases"]) == len(ops.get("box_iou").cases("invalid"))
