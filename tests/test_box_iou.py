"""box_iou, the second op: its reference against torchvision, its declared MindSpore finding
against MindSpore itself, its translation on both frameworks, its verdicts, and a run end to end."""
import json
import subprocess
import sys

import numpy as np
import pytest

from parity import ops
from parity.engine.model import Port, RunResult, Status, Verdict
from parity.ops.box_iou import semantics, suites
from parity.ops.box_iou.judge import judge
from parity.ops.box_iou.reference import evaluate
from parity.ops.box_iou.reference_runner import run as reference_run
from parity.ops.box_iou.signature import Attrs

from tests.test_cli import ROOT, parity

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


def _boxes(seed: int, n: int, scale: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 4 * scale, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(scale / 50, 2 * scale, (n, 2))], axis=1)


def _case(b1, b2, dtype="float32", port=Port.MAPPED, mode="iou"):
    return suites.case("test", "test", Attrs(mode), np.asarray(b1), np.asarray(b2), dtype, port, ())


_MS_SCRIPT = """
import sys, numpy as np
import mindspore as ms
z = np.load(sys.argv[1])
out = ms.ops.iou(ms.Tensor(z["anchor"]), ms.Tensor(z["gt"]), mode=sys.argv[3]).asnumpy()
np.save(sys.argv[2], out)
"""


def _mindspore_iou(anchor: np.ndarray, gt: np.ndarray, mode: str = "iou") -> np.ndarray:
    """MindSpore's own result, computed in a process of its own (it cannot share one with torch)."""
    import tempfile
    from pathlib import Path

    import importlib.util

    if importlib.util.find_spec("mindspore") is None:  # found, not imported: it cannot share a process with torch
        pytest.skip("mindspore is not installed")
    with tempfile.TemporaryDirectory() as d:
        inputs, out = Path(d) / "in.npz", Path(d) / "out.npy"
        np.savez(inputs, anchor=anchor, gt=gt)
        r = subprocess.run([sys.executable, "-c", _MS_SCRIPT, str(inputs), str(out), mode], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        return np.load(out)


def test_the_reference_is_torchvision_float64_under_its_documented_semantics():
    b1, b2 = _boxes(1, 40), _boxes(2, 30)
    case = _case(b1, b2, "float64")
    ours, _ = evaluate(case.inputs, semantics.documented("torchvision", case))
    theirs = torchvision.ops.box_iou(torch.from_numpy(b1), torch.from_numpy(b2)).numpy()
    assert ours.shape == (40, 30)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-15)


def test_the_rounding_bound_covers_torchvision_float32_and_stays_decisive():
    b1, b2 = (_boxes(s, 30).astype(np.float32) for s in (3, 4))
    case = _case(b1, b2)
    exact, bound = evaluate(case.inputs, semantics.documented("torchvision", case))
    got = torchvision.ops.box_iou(torch.from_numpy(b1), torch.from_numpy(b2)).numpy().astype(np.float64)
    assert (np.abs(got - exact) <= bound).all()
    overlapping = exact > 1e-3
    assert overlapping.sum() > 20 and (bound[overlapping] < 0.01 * exact[overlapping]).all()


def test_the_declared_mindspore_kernel_is_what_mindspore_computes():
    """The finding's prediction (pixel-inclusive widths), held to MindSpore's own output."""
    b1, b2 = (_boxes(s, 25, 5.0).astype(np.float32) for s in (5, 6))
    case = _case(b1, b2)
    [(name, predicted)] = semantics.predicted("mindspore", case)
    assert name == "mindspore-iou-pixel-inclusive-widths"
    want, bound = evaluate(case.inputs, predicted)
    got = _mindspore_iou(b2, b1).astype(np.float64)  # the mapped call: anchor = boxes2, gt = boxes1
    assert got.shape == want.shape == (25, 25)
    assert (np.abs(got - want) <= bound + 1e-7).all()
    documented, _ = evaluate(case.inputs, semantics.documented("mindspore", case))
    assert np.abs(got - documented).max() > 0.1  # and it is not what the documentation says


def test_the_first_example_differs_as_measured():
    b1, b2 = np.array(suites.NOTE_BOXES1, np.float32), np.array(suites.NOTE_BOXES2, np.float32)
    tv = torchvision.ops.box_iou(torch.from_numpy(b1), torch.from_numpy(b2)).numpy()
    ms = _mindspore_iou(b2, b1)
    np.testing.assert_allclose(tv, [[1 / 7, 1 / 4], [1, 0]], rtol=1e-6)
    # (w + 1)(h + 1) areas: 4 / (9 + 9 - 4), 4 / (9 + 4 - 4)... exactly the kernel in the divergence's evidence
    np.testing.assert_allclose(ms, [[4 / 14, 4 / 9], [1, 1 / 12]], rtol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 50.0, 1000.0])
def test_the_translation_is_exact_on_mindspore_itself(scale):
    b1, b2 = (np.round(_boxes(s, 20, scale)) for s in (7, 8))
    for b in (b1, b2):  # integer boxes inside the documented domain (x1 < x2, y1 < y2)
        b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1)
    b1, b2 = b1.astype(np.float32), b2.astype(np.float32)
    shift = np.array([0, 0, 1, 1], np.float32)
    ms = _mindspore_iou(b2 - shift, b1 - shift)
    tv = torchvision.ops.box_iou(torch.from_numpy(b1), torch.from_numpy(b2)).numpy()
    np.testing.assert_allclose(ms, tv, rtol=2e-6, atol=1e-7)
    assert np.abs(_mindspore_iou(b2, b1) - tv).max() > 1e-4  # without the shift it is not


def _judged(case, outputs):
    frameworks = tuple(outputs)
    header = {"semantics": [s.to_json() for s in semantics.needed(case, frameworks)]}
    ref = RunResult(case.id, "reference", Status.OK, reference_run(header, dict(case.inputs)))
    results = {fw: RunResult(case.id, fw, Status.OK, {"out": out}) for fw, out in outputs.items()}
    return {(c.actual, c.expected): c for c in judge(case, results, ref)}


def _torchvision(case):
    return torchvision.ops.box_iou(torch.from_numpy(case.boxes1), torch.from_numpy(case.boxes2)).numpy()


def _plus(case, one: float) -> np.ndarray:
    """box_iou with widths x2 - x1 + one, in float64 (a framework computing the wrong thing)."""
    a, b = case.boxes1.astype(np.float64), case.boxes2.astype(np.float64)
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt + one, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0] + one) * (x[:, 3] - x[:, 1] + one)  # noqa: E731
    return (inter / (area(a)[:, None] + area(b)[None, :] - inter)).astype(np.float32)


def test_verdicts_follow_the_prediction_and_blame_anything_else():
    case = _case(_boxes(9, 6, 5.0), _boxes(10, 5, 5.0))
    tv = _torchvision(case)
    judged = _judged(case, {"torchvision": tv, "mindspore": _plus(case, 1.0)})
    assert judged[("torchvision", "reference")].verdict is Verdict.PASS
    assert judged[("mindspore", "reference")].verdict is Verdict.EXPECTED_DIVERGENCE
    assert judged[("mindspore", "torchvision")].divergence == "mindspore-iou-pixel-inclusive-widths"
    # a MindSpore that changed its kernel (+ 2) is not explained away by the declared + 1
    assert _judged(case, {"torchvision": tv, "mindspore": _plus(case, 2.0)})[("mindspore", "reference")].verdict is Verdict.DIVERGENCE_CHANGED
    # a torchvision off by one unit in the third digit is blamed
    assert _judged(case, {"torchvision": tv * 1.001, "mindspore": _plus(case, 1.0)})[("torchvision", "reference")].verdict is Verdict.MISMATCH
    # the renamed call's documented transpose: a torchvision-shaped result from it is wrong
    renamed = _case(case.boxes1, case.boxes2, port=Port.DEFAULTS)
    assert _judged(renamed, {"torchvision": tv, "mindspore": _plus(case, 1.0)})[("mindspore", "reference")].verdict is Verdict.DIVERGENCE_CHANGED


@pytest.mark.parametrize("status, verdict", [(Status.ERROR, Verdict.ERROR), (Status.CRASH, Verdict.CRASH),
                                             (Status.TIMEOUT, Verdict.TIMEOUT), (Status.UNSUPPORTED, Verdict.UNSUPPORTED)])
def test_a_framework_without_output_gets_the_verdict_of_how_it_ended(status, verdict):
    """The same verdicts as roi_align's judge (tests/test_judge.py): one table, the engine's."""
    case = _case(_boxes(9, 6, 5.0), _boxes(10, 5, 5.0))
    header = {"semantics": [s.to_json() for s in semantics.needed(case, ("torchvision", "mindspore"))]}
    ref = RunResult(case.id, "reference", Status.OK, reference_run(header, dict(case.inputs)))
    results = {"torchvision": RunResult(case.id, "torchvision", Status.OK, {"out": _torchvision(case)}),
               "mindspore": RunResult(case.id, "mindspore", status, message="x")}
    judged = {(c.actual, c.expected): c.verdict for c in judge(case, results, ref)}
    assert judged == {("torchvision", "reference"): Verdict.PASS, ("mindspore", "reference"): verdict,
                      ("mindspore", "torchvision"): verdict}


def test_float16_beyond_its_range_is_undecidable_never_pass():
    case = _case([[0, 0, 300, 300]], [[100, 100, 400, 400]], "float16")
    computed_in_float16 = np.array([[0.0]], np.float16)  # areas of 90000 overflow float16 (65504): inf / inf
    out = _judged(case, {"mindspore": computed_in_float16})[("mindspore", "reference")]
    assert out.verdict is Verdict.UNDECIDABLE


def test_torchvision_float16_is_computed_in_float32_as_declared_never_silently_accepted():
    """torchvision's _upcast: a float32 result for float16 boxes, right where float16 overflows."""
    case = _case([[0, 0, 300, 300]], [[100, 100, 400, 400]], "float16")
    got = _torchvision(case)
    assert got.dtype == np.float32 and abs(float(got[0, 0]) - 40000 / 140000) < 1e-6  # by hand: 200 * 200 / (2 * 90000 - 40000)
    c = _judged(case, {"torchvision": got})[("torchvision", "reference")]
    assert c.verdict is Verdict.EXPECTED_DIVERGENCE and c.divergence == "torchvision-box-iou-float16-computed-in-float32"
    # the same numbers as float16 would be the documented dtype: the verdict is about the dtype
    as16 = _judged(case, {"torchvision": got.astype(np.float16)})[("torchvision", "reference")]
    assert as16.verdict is not Verdict.EXPECTED_DIVERGENCE
    # a float32 result with float16-computed values does not follow the prediction
    small = _case([[0, 0, 3, 3]], [[1, 1, 4.001, 4]], "float16")
    wrong = (_torchvision(small).astype(np.float16).astype(np.float32)) * np.float32(1.01)
    assert _judged(small, {"torchvision": wrong})[("torchvision", "reference")].verdict is Verdict.DIVERGENCE_CHANGED


def test_ops_lists_both_ops_and_each_suite_has_unique_ids():
    r = subprocess.run([sys.executable, "-m", "parity.shells.cli", "ops"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0 and "roi_align:" in r.stdout and "box_iou:" in r.stdout
    op = ops.get("box_iou")
    for suite in op.suites:
        ids = [c.id for c in op.cases(suite)]
        assert ids and len(ids) == len(set(ids)) and all(i.startswith("box_iou[") for i in ids)


def test_run_box_iou_end_to_end_with_reports_and_gate(tmp_path):
    out = tmp_path / "run"
    r = parity("run", "--op", "box_iou", "--suite", "standard", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((out / "parity.json").read_text())
    assert doc["op"] == "box_iou"
    verdicts = {(c["actual"], c["expected"]): c["verdict"] for case in doc["cases"] for c in case["comparisons"] if case["id"] == "box_iou[mode=iou]-f32-translated-note"}
    assert verdicts[("mindspore", "torchvision")] == "PASS"  # the exact translation
    assert "box_iou parity" in r.stdout and "mindspore-iou-pixel-inclusive-widths" in (out / "parity.md").read_text()
    baseline = tmp_path / "baseline.json"
    assert parity("baseline", "update", str(out), "--out", str(baseline)).returncode == 0
    assert parity("gate", "--baseline", str(baseline), str(out)).returncode == 0
    html = (out / "parity.html").read_text()
    assert "columns: the" in html  # the [N, M] heatmap
    again = parity("run", "--resume", str(out))
    assert again.returncode == 0, again.stderr
    assert parity("run", "--resume", str(out), "--op", "roi_align").returncode == 2


def test_translate_and_mapping_for_box_iou():
    t = parity("translate", "--op", "box_iou")
    assert t.returncode == 0, t.stderr
    assert "mindspore.ops.iou(boxes2 - Tensor([0, 0, 1, 1]), boxes1 - Tensor([0, 0, 1, 1])" in t.stdout
    m = parity("mapping", "--op", "box_iou")
    assert m.returncode == 0 and "gt_boxes" in m.stdout
