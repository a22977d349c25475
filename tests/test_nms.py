"""nms, the third op: its reference against torchvision, its declared MindSpore findings against
MindSpore itself, the migration note's printed outputs, the translation on both frameworks, the
verdicts (exact, UNDECIDABLE at the threshold), the mutants, and a run end to end."""
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from parity import ops
from parity.engine.model import Port, RunResult, Status, Verdict
from parity.ops.nms import divergences, semantics, suites
from parity.ops.nms.judge import judge
from parity.ops.nms.reference import Semantics, nms
from parity.ops.nms.reference_runner import run as reference_run
from parity.ops.nms.signature import Attrs, mindspore_inputs

from tests.test_cli import parity

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

_MS_SCRIPT = """
import sys, numpy as np
import mindspore as ms
z = np.load(sys.argv[1], allow_pickle=True)
out = {}
for k in range(int(z["count"])):
    b, i, m = ms.ops.NMSWithMask(float(z[f"t{k}"]))(ms.Tensor(z[f"b{k}"]))
    out[f"boxes{k}"], out[f"idx{k}"], out[f"mask{k}"] = b.asnumpy(), i.asnumpy(), m.asnumpy()
np.savez(sys.argv[2], **out)
"""


def _mindspore(calls: list[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """NMSWithMask(t)(bboxes) for each call, in a process of its own (MindSpore cannot share one with torch)."""
    if importlib.util.find_spec("mindspore") is None:  # found, not imported
        pytest.skip("mindspore is not installed")
    with tempfile.TemporaryDirectory() as d:
        inputs, out = Path(d) / "in.npz", Path(d) / "out.npz"
        arrays = {"count": len(calls)}
        for k, (b, t) in enumerate(calls):
            arrays[f"b{k}"], arrays[f"t{k}"] = b, t
        np.savez(inputs, **arrays)
        r = subprocess.run([sys.executable, "-c", _MS_SCRIPT, str(inputs), str(out)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        z = np.load(out)
        return [(z[f"boxes{k}"], z[f"idx{k}"], z[f"mask{k}"].astype(bool)) for k in range(len(calls))]


def _sets(seed: int, count: int, n: int, ties: bool = False, dtype=np.float32):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        boxes = suites.detector_boxes(rng, n).astype(dtype)
        scores = rng.uniform(0, 1, n)
        yield boxes, (np.round(scores, 1) if ties else scores).astype(dtype)


def _tv(boxes, scores, t, idxs=None):
    b, s = torch.from_numpy(boxes), torch.from_numpy(scores)
    if idxs is not None:
        return torchvision.ops.batched_nms(b, s, torch.from_numpy(idxs), t).numpy()
    return torchvision.ops.nms(b, s, t).numpy()


@pytest.mark.parametrize("ties", [False, True])
def test_the_reference_is_torchvision_under_its_documented_semantics(ties):
    for boxes, scores in _sets(1 + ties, 40, 40, ties, np.float64):
        for t in (0.0, 0.3, 0.5, 0.7, 1.0):
            want = _tv(boxes, scores, t)
            got = nms(boxes, scores, t, semantics.DOCUMENTED, "float64")["keep"]
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("block", [1, 7, 64])
def test_the_reference_is_torchvision_across_its_blocks_of_boxes(monkeypatch, block):
    """Hundreds of boxes span several of the greedy loop's blocks (reference.BLOCK: boxes whose IoUs
    are computed together); every block size keeps what torchvision keeps, ties included, and finds
    the same decisions within rounding of the threshold."""
    from parity.ops.nms import reference

    monkeypatch.setattr(reference, "BLOCK", block)
    for boxes, scores in _sets(5, 3, 300, True):
        for t in (0.3, 0.7):
            got = nms(boxes, scores, t, semantics.DOCUMENTED, "float32")
            np.testing.assert_array_equal(got["keep"], _tv(boxes, scores, t))
            monkeypatch.setattr(reference, "BLOCK", 300)  # one block: every pair in one pass
            whole = nms(boxes, scores, t, semantics.DOCUMENTED, "float32")
            monkeypatch.setattr(reference, "BLOCK", block)
            for k in ("suppressor", "suppressor_iou", "near"):
                np.testing.assert_array_equal(got[k], whole[k])


def test_the_reference_is_torchvision_batched_nms():
    rng = np.random.default_rng(3)
    for boxes, scores in _sets(3, 20, 60):
        idxs = rng.integers(0, 4, len(scores))
        header = {"attrs": Attrs(0.5, batched=True).to_json(), "semantics": [semantics.DOCUMENTED.to_json()]}
        got = reference_run(header, {"boxes": boxes, "scores": scores, "idxs": idxs})["documented.keep"]
        np.testing.assert_array_equal(got, _tv(boxes, scores, 0.5, idxs))


def test_the_migration_notes_example_prints_what_the_note_prints():
    boxes, scores = np.array(suites.NOTE_BOXES, np.float32), np.array(suites.NOTE_SCORES, np.float32)
    assert _tv(boxes, scores, 0.4).tolist() == [0, 2, 3]  # the note: tensor([0, 2, 3])
    [(_, idx, mask)] = _mindspore([(np.column_stack([boxes, scores]), 0.4)])
    assert idx[mask].tolist() == [0, 2, 3]  # the note's MindSpore output, and the same list


def test_mindspores_output_idx_is_the_sorted_position_as_declared():
    """The docstring's own example prints [0 1 2]: positions in output_boxes; the input indices are [2 0 1]."""
    doc = np.array(suites.DOC_BBOX)
    doc[:, 2] += doc[:, 0]
    doc[:, 3] += doc[:, 1]
    doc = doc.astype(np.float32)
    rng = np.random.default_rng(4)
    sets = [(suites.detector_boxes(rng, 30, 0, 100, 0, 50).astype(np.float32), rng.uniform(0, 1, 30).astype(np.float32)) for _ in range(200)]
    results = _mindspore([(doc, 0.1)] + [(np.column_stack([b, s]), 0.5) for b, s in sets])
    boxes, idx, mask = results[0]
    assert idx[mask].tolist() == [0, 1, 2]  # as the docstring prints
    assert _tv(doc[:, :4], doc[:, 4], 0.1).tolist() == [2, 0, 1]
    predicted = Semantics("p", output="position")
    set_differs = suppressed = 0
    for (b, s), (_, idx, mask) in zip(sets, results[1:]):
        assert idx.tolist() == list(range(len(s)))
        assert idx[mask].tolist() == nms(b, s, 0.5, predicted, "float32")["keep"].tolist()
        tv = _tv(b, s, 0.5)
        differs = set(idx[mask].tolist()) != set(tv.tolist())
        set_differs += differs
        suppressed += len(tv) < len(s)
        assert not differs or len(tv) < len(s)  # where every box is kept, positions and indices are the same set
    assert set_differs >= 0.9 * suppressed > 50  # the "120 in 200": wherever NMS suppresses anything


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_the_bitonic_tie_order_is_what_mindspore_computes(dtype):
    sets = list(_sets(5, 30, 45, ties=True, dtype=dtype))
    results = _mindspore([(np.column_stack([b, s]), 0.5) for b, s in sets])
    kernel = Semantics("k", order="bitonic", threshold="dtype", output="position")
    stable = Semantics("s", threshold="dtype", output="position")
    differs_from_stable = 0
    for (b, s), (out_boxes, idx, mask) in zip(sets, results):
        predicted = nms(b, s, 0.5, kernel, np.dtype(dtype).name)
        np.testing.assert_array_equal(out_boxes, np.column_stack([b, s])[predicted["order"]])  # the sort itself
        assert idx[mask].tolist() == predicted["keep"].tolist()
        differs_from_stable += idx[mask].tolist() != nms(b, s, 0.5, stable, np.dtype(dtype).name)["keep"].tolist()
    assert differs_from_stable >= 10  # ties do change which boxes survive


def test_the_threshold_is_compared_in_the_dtype():
    """IoU 3/10 with exact intermediates: float32(0.3) > 0.3, so torchvision suppresses and MindSpore keeps."""
    boxes, scores = np.array([[0, 0, 10, 1], [0, 0, 3, 1]], np.float32), np.array([0.9, 0.8], np.float32)
    assert _tv(boxes, scores, 0.3).tolist() == [0]
    mapped = mindspore_inputs(boxes, scores, None, Attrs(0.3), Port.MAPPED)
    translated = mindspore_inputs(boxes, scores, None, Attrs(0.3), Port.TRANSLATED)
    (_, i1, m1), (_, _, m2) = _mindspore([mapped[:2], translated[:2]])
    assert i1[m1].tolist() == [0, 1]
    assert translated[2][m2].tolist() == [0]


@pytest.mark.parametrize("batched", [False, True])
def test_the_translation_is_exact_on_mindspore_itself(batched):
    rng = np.random.default_rng(6)
    sets = [(b, s, rng.integers(0, 3, len(s)), t) for (b, s), t in zip(_sets(7, 24, 50, ties=True), (0.3, 0.45, 0.5, 0.7) * 6)]
    calls, orders = [], []
    for b, s, idxs, t in sets:
        bboxes, threshold, order = mindspore_inputs(b, s, idxs, Attrs(t, batched), Port.TRANSLATED)
        calls.append((bboxes, threshold))
        orders.append(order)
    wrong_by_note = 0
    for (b, s, idxs, t), order, (_, _, mask) in zip(sets, orders, _mindspore(calls)):
        want = _tv(b, s, t, idxs if batched else None)
        assert order[mask].tolist() == want.tolist()
    for (b, s, idxs, t), (_, idx, mask) in zip(sets, _mindspore([mindspore_inputs(b, s, i, Attrs(t, batched), Port.MAPPED)[:2] for b, s, i, t in sets])):
        wrong_by_note += idx[mask].tolist() != _tv(b, s, t, idxs if batched else None).tolist()
    assert wrong_by_note >= 20  # while the note's call is not


def _judged(case, outputs):
    frameworks = tuple(outputs)
    header = {"attrs": case.attrs.to_json(), "semantics": [s.to_json() for s in semantics.needed(case, frameworks)]}
    ref = RunResult(case.id, "reference", Status.OK, reference_run(header, dict(case.inputs)))
    results = {fw: (out if isinstance(out, RunResult) else RunResult(case.id, fw, Status.OK, {"keep": np.asarray(out, np.int64)})) for fw, out in outputs.items()}
    return {(c.actual, c.expected): c for c in judge(case, results, ref)}


def _case(boxes, scores, t=0.5, dtype="float32", port=Port.MAPPED):
    return suites.case("test", "test", Attrs(t), np.asarray(boxes, float), np.asarray(scores, float), dtype, port, ())


def test_verdicts_follow_the_predictions_and_blame_anything_else():
    boxes, scores = next(_sets(8, 1, 30))
    case = _case(boxes, scores)
    tv = _tv(case.inputs["boxes"], case.scores, 0.5)
    positions = nms(case.inputs["boxes"], case.scores, 0.5, Semantics("p", output="position"), "float32")["keep"]
    judged = _judged(case, {"torchvision": tv, "mindspore": positions})
    assert judged[("torchvision", "reference")].verdict is Verdict.PASS
    assert judged[("mindspore", "reference")].verdict is Verdict.EXPECTED_DIVERGENCE
    assert judged[("mindspore", "reference")].divergence == divergences.OUTPUT_IDX
    assert judged[("mindspore", "torchvision")].verdict is Verdict.EXPECTED_DIVERGENCE
    # one box dropped: neither documented nor predicted; the message names the box and its IoU
    dropped = _judged(case, {"torchvision": tv[:-1]})[("torchvision", "reference")]
    assert dropped.verdict is Verdict.MISMATCH and f"box {tv[-1]} kept by the reference is missing" in dropped.message
    changed = _judged(case, {"mindspore": positions[::-1]})[("mindspore", "reference")]
    assert changed.verdict is Verdict.DIVERGENCE_CHANGED
    # the translated call has no divergence left: the same fault there is a MISMATCH
    translated = _case(boxes, scores, port=Port.TRANSLATED)
    assert _judged(translated, {"mindspore": positions})[("mindspore", "reference")].verdict is Verdict.MISMATCH


def test_a_decision_within_rounding_of_the_threshold_is_undecidable():
    # exact IoU (1 + 2**-10) / (2 + 2**-10 + 2**-20) = 0.50024, but the second area (1 + 2**-10)**2
    # is not a float16: the dtype's IoU is within its rounding bound of 0.5, either decision is right
    boxes = [[0, 0, 2, 1], [0, 0, 1.0009765625, 1.0009765625]]
    case = _case(boxes, [0.9, 0.8], 0.5, "float16")
    out = _judged(case, {"mindspore": [0, 1]})[("mindspore", "reference")]
    assert out.verdict is Verdict.UNDECIDABLE and out.undecided.index == (0, 1)
    assert "boxes 0, 1: IoU 0.5002437" in out.message  # (1 + 2**-10) / (2 + (1 + 2**-10)**2 - (1 + 2**-10))
    exact = _case([[0, 0, 2, 1], [0, 0, 1, 1]], [0.9, 0.8], 0.5)  # IoU exactly 0.5, decided: not suppressed
    assert _judged(exact, {"torchvision": [0]})[("torchvision", "reference")].verdict is Verdict.MISMATCH


def test_an_empty_input_does_not_raise_in_mindspore_though_documented():
    [(boxes, idx, mask)] = _mindspore([(np.zeros((0, 5), np.float32), 0.5)])
    assert boxes.shape == (0, 5) and idx.shape == mask.shape == (0,)  # no ValueError, as the docs promise
    case = _case(np.zeros((0, 4)), np.zeros(0))
    out = _judged(case, {"torchvision": np.zeros(0, np.int64), "mindspore": np.zeros(0, np.int64)})
    assert out[("mindspore", "reference")].verdict is Verdict.EXPECTED_DIVERGENCE
    assert out[("mindspore", "reference")].divergence == divergences.EMPTY
    assert out[("mindspore", "torchvision")].verdict is Verdict.PASS
    err = RunResult(case.id, "mindspore", Status.ERROR, {}, "ValueError: bboxes.shape[0] must be > 0")
    assert _judged(case, {"mindspore": err})[("mindspore", "reference")].verdict is Verdict.PASS  # as documented
    assert _judged(case, {"mindspore": [0]})[("mindspore", "reference")].verdict is Verdict.DIVERGENCE_CHANGED


def test_every_mutant_is_killed_and_suites_have_unique_ids():
    r = parity("mutants", "--op", "nms")
    assert r.returncode == 0, r.stdout + r.stderr
    from parity.ops.nms.mutants import MUTANTS

    assert f"mutation score: {len(MUTANTS)}/{len(MUTANTS)} (100%)" in r.stdout and len(MUTANTS) == 8
    op = ops.get("nms")
    for suite in op.suites:
        ids = [c.id for c in op.cases(suite)]
        assert ids and len(ids) == len(set(ids)) and all(i.startswith("nms[") for i in ids)


def test_an_unmutated_copy_of_the_nms_reference_survives():
    from parity.ops.nms import mutants

    cases = [c for s in ("seed", "standard", "edge") for c in ops.get("nms").cases(s)]
    [outcome] = mutants.run(cases, (mutants.Mutant("none", "no edit", ()),))
    assert outcome.killed_by is None, outcome.how
    assert sys.modules["parity.ops.nms.reference"].nms is nms  # the real reference is back


def test_run_nms_end_to_end_with_reports_and_gate(tmp_path):
    out = tmp_path / "run"
    r = parity("run", "--op", "nms", "--suite", "seed", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((out / "parity.json").read_text())
    verdicts = {(c["id"], x["actual"], x["expected"]): x["verdict"] for c in doc["cases"] for x in c["comparisons"]}
    assert verdicts[("nms[t=0.1]-f32-mapped-docstring", "mindspore", "torchvision")] == "EXPECTED_DIVERGENCE"
    assert verdicts[("nms[t=0.1]-f32-translated-docstring", "mindspore", "torchvision")] == "PASS"
    assert divergences.OUTPUT_IDX in (out / "parity.md").read_text()
    baseline = tmp_path / "baseline.json"
    assert parity("baseline", "update", str(out), "--out", str(baseline)).returncode == 0
    assert parity("gate", "--baseline", str(baseline), str(out)).returncode == 0


def test_translate_and_mapping_for_nms():
    t = parity("translate", "--op", "nms")
    assert t.returncode == 0, t.stderr
    assert "keep = order[mask]" in t.stdout and "25 / 25 sample sets" in t.stdout
    m = parity("mapping", "--op", "nms")
    assert m.returncode == 0 and "output_idx" in m.stdout
    assert "selected_indices[:, 2]" in m.stdout and "nms(boxes, iou_threshold, scores)" in m.stdout  # ONNX Runtime, Paddle


def test_shrinking_keeps_the_two_boxes_that_decide():
    """A kernel suppressing at IoU == t, on two boxes of IoU exactly 0.5 among 20 far-away boxes."""
    from parity.ops.nms.mutants import MUTANTS, mutated
    from parity.ops.nms.shrink import shrink

    rng = np.random.default_rng(9)
    far = suites.detector_boxes(rng, 20, 1000, 5000, 5, 50)
    boxes = np.vstack([far[:7], [[0, 0, 2, 1]], far[7:15], [[0, 0, 1, 1]], far[15:]])
    case = _case(boxes, rng.uniform(0, 1, len(boxes)))
    faulty = mutated(next(m for m in MUTANTS if m.name == "greater-or-equal"))

    def fails(c):
        keep = lambda module: module.nms(c.inputs["boxes"], c.scores, 0.5, semantics.DOCUMENTED, "float32")["keep"].tolist()  # noqa: E731
        return keep(faulty) != nms(c.inputs["boxes"], c.scores, 0.5, semantics.DOCUMENTED, "float32")["keep"].tolist()

    assert fails(case)
    small = shrink(case, fails)
    assert sorted(small.inputs["boxes"].tolist()) == [[0, 0, 1, 1], [0, 0, 2, 1]]


def test_the_notes_scores_n_by_1_are_invalid_for_torchvision_but_packed_for_mindspore():
    case = next(c for c in ops.get("nms").cases("invalid") if c.id.endswith("scores-n-by-1"))
    with pytest.raises(RuntimeError, match="1d"):
        torchvision.ops.nms(torch.from_numpy(case.inputs["boxes"]), torch.from_numpy(case.scores), 0.5)
    header = {"attrs": case.attrs.to_json(), "semantics": [semantics.DOCUMENTED.to_json()]}
    ref = RunResult(case.id, "reference", Status.OK, reference_run(header, dict(case.inputs)))
    raised = RunResult(case.id, "torchvision", Status.ERROR, {}, "RuntimeError: scores should be a 1d tensor")
    silent = RunResult(case.id, "torchvision", Status.OK, {"keep": np.array([0, 2])})
    ms = RunResult(case.id, "mindspore", Status.OK, {"keep": np.array([0, 2])})  # boxes 0 and 1 overlap (IoU 0.68): 1 goes
    verdicts = {c.actual: c.verdict for c in judge(case, {"torchvision": raised, "mindspore": ms}, ref)}
    assert verdicts == {"torchvision": Verdict.PASS, "mindspore": Verdict.PASS}
    assert judge(case, {"torchvision": silent}, ref)[0].verdict is Verdict.MISMATCH
