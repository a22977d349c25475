"""parity repro --op nms: a standalone script (no parity import, each framework in a process of its
own) whose greedy NMS, visiting orders, rounding bound and verdicts are parity's reference and
judge, and a bug-report body naming where the kept lists first differ."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from parity import ops
from parity.engine import standalone
from parity.engine.errors import Unsupported
from parity.engine.model import Port, RunResult, Status
from parity.ops.nms import repro, suites
from parity.ops.nms.judge import judge
from parity.ops.nms.reference import stable_order
from parity.ops.nms.reference_runner import FIELDS, run as reference_run
from parity.ops.nms.signature import Attrs, mindspore_inputs
from tests.test_cli import parity
from tests.test_repro import script_imports

OP = ops.get("nms")
FRAMEWORKS = ("torchvision", "mindspore")
#: The threshold finding: IoU 3/10, exact in float32, is float32(0.3) > 0.3: torchvision suppresses, MindSpore keeps.
THRESHOLD_CASE = "nms[t=0.3]-f32-mapped-iou-exactly-0.3-float32-rounded"
#: MindSpore's docstring example, unsorted scores: output_idx[mask] is positions, not indices.
DOCSTRING_CASE = "nms[t=0.1]-f32-mapped-docstring"
BLOCK_PARITY = "import runpy, sys; sys.modules['parity'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def _namespace(case) -> dict:
    """The names the script defines (inputs, semantics, its NMS and verdicts), without running a framework."""
    namespace: dict = {"__name__": "repro_script", "__file__": "repro_script.py"}
    exec(compile(repro.script(case), "repro_script", "exec"), namespace)
    return namespace


def _reference(case) -> tuple[dict, dict | None]:
    """The request parity's judge makes of its reference for this case, and the reference's outputs
    (None where it has no result: input outside both documentations)."""
    header, arrays = OP.request(case, "reference", FRAMEWORKS, False)
    try:
        return header, reference_run(header, arrays)
    except Unsupported:
        return header, None


def _the_same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))


def _check_reference(case, ns: dict, header: dict, ref: dict | None) -> int:
    """The script's inputs are the case's bit for bit, and its reference is parity's, field for
    field, under every semantics the judge evaluates; how many semantics were compared."""
    embedded = {"boxes": ns["BOXES"], "scores": ns["SCORES"], **({"idxs": ns["IDXS"]} if ns["IDXS"] is not None else {})}
    assert embedded.keys() == case.inputs.keys(), case.id
    for k, v in embedded.items():  # bit for bit: dtype, shape, bytes (NaN, inf and empty arrays included)
        assert v.dtype == case.inputs[k].dtype and v.shape == case.inputs[k].shape and v.tobytes() == case.inputs[k].tobytes(), (case.id, k)
    script_semantics = [*ns["DOCUMENTED"].values(), *(d["semantics"] for ds in ns["DECLARED"].values() for d in ds)]
    assert {s["key"] for s in script_semantics} == {s["key"] for s in header["semantics"]}, case.id  # what the judge evaluates
    for sem in header["semantics"]:
        if ref is None:
            with pytest.raises(ns["Undefined"]):
                ns["reference"](sem)
            continue
        got = ns["reference"](sem)
        for field in FIELDS:  # kept list, suppressors and their IoU, decisions near the threshold, visiting order
            assert _the_same(got[field], ref[f"{sem['key']}.{field}"]), (case.id, sem["key"], field)
    return 0 if ref is None else len(header["semantics"])


def _results(kept: dict[str, object]) -> tuple[dict, dict]:
    """The same framework outcomes for the script (JSON) and for parity's judge (RunResults)."""
    script, judged = {}, {}
    for fw, got in kept.items():
        if isinstance(got, str):
            status = Status.UNSUPPORTED if got == "unsupported" else Status.ERROR
            script[fw] = {got: f"{fw} {got}"}
            judged[fw] = RunResult("c", fw, status, message=f"{fw} {got}")
        else:
            script[fw] = {"keep": [int(v) for v in got]}
            judged[fw] = RunResult("c", fw, Status.OK, {"keep": np.asarray(got, dtype=np.int64)})
    return script, judged


def _outcomes(case, ref: dict | None, header: dict) -> list[dict[str, object]]:
    """Framework outcomes to judge: every list a semantics of the case gives, a wrong one, a raise."""
    if ref is None:
        return [{"torchvision": "error", "mindspore": "unsupported"}, {"torchvision": [0], "mindspore": "error"}]
    lists = [ref[f"{s['key']}.keep"] for s in header["semantics"]]
    documented = ref["documented.keep"]
    wrong = documented[::-1] if len(documented) > 1 else documented[:0] if len(documented) else None  # input boxes only
    out = [{"torchvision": documented, "mindspore": k} for k in lists]
    out += [] if wrong is None else [{"torchvision": documented, "mindspore": wrong}, {"torchvision": wrong, "mindspore": documented}]
    return out + [{"torchvision": documented, "mindspore": "error"}, {"torchvision": "unsupported", "mindspore": lists[-1]}]


def _check_verdicts(case, ns: dict, header: dict, ref: dict | None) -> list[str]:
    """For framework outcomes that follow each semantics, a wrong list, a raise: the script reaches
    parity's judge's verdicts and names the same divergences; the verdicts reached."""
    reference = RunResult(case.id, "reference", Status.UNSUPPORTED if ref is None else Status.OK, ref or {}, "undefined")
    reached = []
    for outcome in _outcomes(case, ref, header):
        script_results, judged = _results(outcome)
        want = [(c.actual, c.expected, c.verdict.value, c.divergence) for c in judge(case, judged, reference)]
        got = [(v["actual"], v["expected"], v["verdict"], v["divergence"]) for v in ns["compare"](script_results)[1]]
        assert got == want, (case.id, outcome)
        reached += [v[2] for v in got]
    return reached


def _check_suite(suite: str, keyword: str | None = None) -> tuple[int, set[str]]:
    compared, reached = 0, set()
    for case in OP.cases(suite, keyword):
        ns = _namespace(case)
        header, ref = _reference(case)
        compared += _check_reference(case, ns, header, ref)
        reached |= set(_check_verdicts(case, ns, header, ref))
    return compared, reached


#: (suite, keyword) -> the fewest semantics compared and the verdicts that must be reached (the
#: standard suite in two halves, each a few seconds).
SUITES = {
    ("seed", None): (10, {"PASS", "EXPECTED_DIVERGENCE", "MISMATCH", "ERROR", "UNSUPPORTED"}),
    ("standard", "f16"): (200, {"PASS", "EXPECTED_DIVERGENCE", "DIVERGENCE_CHANGED", "UNDECIDABLE", "MISMATCH"}),
    ("standard", "f32"): (200, {"PASS", "EXPECTED_DIVERGENCE", "DIVERGENCE_CHANGED", "MISMATCH"}),
    ("edge", None): (300, {"PASS", "EXPECTED_DIVERGENCE", "DIVERGENCE_CHANGED", "MISMATCH"}),
    ("invalid", None): (1, {"PASS", "MISMATCH"}),
}


@pytest.mark.parametrize("suite, keyword", SUITES, ids=lambda v: v or "all")
def test_the_scripts_nms_and_verdicts_are_parity_s_reference_and_judge(suite, keyword):
    """On every case: the script's reference equals parity.ops.nms.reference under every semantics
    the judge evaluates, and its verdicts are the judge's (each verdict kind the suite can give;
    UNDECIDABLE from the float16 cases of 1500 and 2000 boxes)."""
    compared, reached = _check_suite(suite, keyword)
    fewest, verdicts = SUITES[suite, keyword]
    assert compared >= fewest and reached >= verdicts, (compared, reached)


@pytest.mark.slow
def test_the_scripts_nms_and_verdicts_on_the_disagreement_measurement():
    compared, reached = _check_suite("disagreement")
    assert compared == 200 * 8 and "EXPECTED_DIVERGENCE" in reached  # documented + 7 combinations of MindSpore's 3 predictions


def test_the_scripts_documented_nms_is_torchvision_itself():
    """Independent of parity's reference: torchvision's own nms / batched_nms keep exactly what the
    script's reference keeps under torchvision's documented semantics, on every float32 case."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    checked = 0
    for case in [*OP.cases("standard", "f32"), *OP.cases("edge", "f32")]:
        ns = _namespace(case)
        boxes, scores = torch.from_numpy(case.inputs["boxes"]), torch.from_numpy(case.inputs["scores"])
        t = case.attrs.iou_threshold
        if case.attrs.batched:
            theirs = torchvision.ops.batched_nms(boxes, scores, torch.from_numpy(case.inputs["idxs"]), t)
        else:
            theirs = torchvision.ops.nms(boxes, scores, t)
        assert ns["reference"](ns["DOCUMENTED"]["torchvision"])["keep"].tolist() == theirs.tolist(), case.id
        checked += 1
    assert checked >= 90


def test_the_script_packs_mindspores_input_as_the_port_does():
    """The [N, 5] input, the threshold and the order the mask is read through, bit for bit what
    parity's MindSpore runner passes (mapped, translated, batched)."""
    checked = 0
    for case in [*OP.cases("standard"), *OP.cases("edge")]:
        ns = _namespace(case)
        want = mindspore_inputs(case.inputs["boxes"], case.scores, case.inputs.get("idxs"), case.attrs, case.port)
        got = ns["mindspore_inputs"]()
        assert got[0].dtype == want[0].dtype and got[0].tobytes() == want[0].tobytes(), case.id
        assert got[1] == want[1] and type(got[1]) is float, case.id
        assert (got[2] is None) == (want[2] is None) and (got[2] is None or np.array_equal(got[2], want[2])), case.id
        checked += 1
    assert checked >= 150


def test_an_order_the_script_does_not_model_is_not_claimed_to_agree():
    """Paddle's introsort and ONNX Runtime's heap are modelled in parity only: the script says it
    cannot compare there instead of comparing with another order."""
    [case] = OP.cases("edge", "nms[t=0.5]-f32-mapped-nan-score")
    ns = _namespace(case)
    sem = {**ns["DOCUMENTED"]["mindspore"], "key": "heap", "order": "heap"}
    with pytest.raises(ns["NotReproduced"]):
        ns["reference"](sem)
    row = ns["against"]("onnxruntime vs reference", "onnxruntime", [2, 1], sem)
    assert row["same"] is None and "parity only" in row["not_compared"]
    ns["DECLARED"]["mindspore"].insert(0, {"divergence": "an-unmodelled-order", "semantics": sem})
    [_, mine, _] = ns["compare"]({"torchvision": {"keep": [1, 2]}, "mindspore": {"keep": [2, 1]}})[1]
    assert mine["verdict"] == "NOT_REPRODUCED" and "an-unmodelled-order" in mine["message"]


@pytest.mark.parametrize("suite, case_id", [("standard", "nms[t=0.5]-f32-mapped-empty"), ("invalid", "nms[invalid]-boxes-3-columns"),
                                            ("edge", THRESHOLD_CASE)])
def test_a_framework_the_script_could_not_call_is_never_judged(monkeypatch, suite, case_id):
    """Without torch or MindSpore importable, the script has no result of theirs: NOT_RUN, never the
    PASS a raise would earn where the documentation says the call raises (an empty input) or the
    input is undefined (3 columns), never a finding."""
    [case] = OP.cases(suite, case_id)
    ns = _namespace(case)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    monkeypatch.setitem(sys.modules, "mindspore", None)
    results = {name: ns["one_framework"](name) for name in FRAMEWORKS}
    assert all("not_run" in got and "was not called: ModuleNotFoundError" in got["not_run"] for got in results.values()), results
    _, verdicts = ns["compare"](results)
    assert {v["verdict"] for v in verdicts} == {"NOT_RUN"}, verdicts


def test_undefined_input_outside_the_invalid_suite_is_the_references_failure_as_in_the_judge():
    """A regression folder's case holding input no documentation defines is not judged on how the
    frameworks react (only the invalid suite's cases are): the script, like the judge, reports one
    reference ERROR."""
    import dataclasses

    [invalid] = OP.cases("invalid", "nms[invalid]-boxes-3-columns")
    case = dataclasses.replace(invalid, suite="regressions")
    assert not case.invalid
    ns = _namespace(case)
    header, ref = _reference(case)
    assert ref is None and set(_check_verdicts(case, ns, header, ref)) == {"ERROR"}


def test_the_inputs_round_trip_bit_for_bit():
    """Signed zeros, float16 subnormals, NaN and infinities, and classes, exactly as the case holds them."""
    boxes = np.array([[0, -0.0, 1, 6e-8], [np.nan, 0, np.inf, 1], [-np.inf, 0, 65504, 2.0 ** -24]], dtype=np.float16)
    scores = np.array([-0.0, np.nan, 1 - 2.0 ** -11], dtype=np.float16)
    case = suites.case("t", "t", Attrs(0.3, batched=True), boxes, scores, "float16", Port.TRANSLATED, (), [2, 0, 2])
    ns = _namespace(case)
    for name, k in (("BOXES", "boxes"), ("SCORES", "scores"), ("IDXS", "idxs")):
        assert ns[name].dtype == case.inputs[k].dtype and ns[name].tobytes() == case.inputs[k].tobytes(), name
    assert ns["MINDSPORE_PORT"] == "translated" and ns["BATCHED"] is True and ns["IOU_THRESHOLD"] == 0.3


def _run_script(stored, case_id: str, suite: str, folder) -> tuple[dict, str, str]:
    """``parity repro`` of a case judged in the stored run ``stored``, its script run as a user
    would with parity unreachable (from its children too): (its findings, what it printed, the script)."""
    r = parity("repro", "--op", "nms", case_id, "--suite", suite, "--results", str(stored), "--out", str(folder), "--no-run")
    assert r.returncode == 0, r.stdout + r.stderr
    script = folder / f"{standalone.short_name(case_id)}.py"
    assert script_imports(script.read_text()) <= {"importlib", "json", "math", "os", "platform", "subprocess", "sys",
                                            "tempfile", "numpy", "torch", "torchvision", "mindspore"}
    found = folder / "found.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", BLOCK_PARITY, str(script), "--json", str(found)], capture_output=True,
                         text=True, cwd=folder, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(found.read_text()), out.stdout, script.read_text()


def _same_verdicts(doc: dict, stored, case_id: str) -> list[tuple]:
    """The script's verdicts are the stored run's (pair, verdict, divergences); those verdicts."""
    want = [(c.actual, c.expected, c.verdict.value, c.divergence) for c in standalone.stored(stored, case_id).comparisons]
    assert [(v["actual"], v["expected"], v["verdict"], v["divergence"]) for v in doc["verdicts"]] == want, case_id
    return want


def test_the_script_reaches_the_stored_runs_verdicts_on_a_diverging_case(tmp_path):
    """A real run: parity judges the threshold case on torchvision and MindSpore; the script, run
    with parity unreachable, reaches the same verdicts on the same frameworks, and the report says
    where the lists differ: position 1, box 1 (score 0.8) kept by MindSpore, suppressed by box 0 at
    IoU float32(3/10) > 0.3."""
    stored = tmp_path / "run"
    r = parity("run", "--op", "nms", "--suite", "edge", "-k", THRESHOLD_CASE, "--out", str(stored))
    assert r.returncode == 0, r.stdout + r.stderr
    doc, printed, script = _run_script(stored, THRESHOLD_CASE, "edge", tmp_path)
    assert doc["results"] == {"torchvision": {"keep": [0]}, "mindspore": {"keep": [0, 1]}}, doc["results"]
    want = _same_verdicts(doc, stored, THRESHOLD_CASE)
    assert ("mindspore", "reference", "EXPECTED_DIVERGENCE", "mindspore-nms-threshold-rounded-to-dtype") in want
    [documented] = [r for r in doc["comparisons"] if r["label"] == "mindspore vs reference (documented)"]
    d = documented["difference"]
    assert (d["position"], d["lengths"], d["got_box"], d["expected_box"], d["suppressed_by"]) == (1, [2, 1], 1, None, 0)
    assert d["got_score"] == float(np.float32(0.8)) and d["suppressor_iou"] == float(np.float32(3) / np.float32(10))

    case = repro.find_case(THRESHOLD_CASE, "edge")
    md = repro.markdown(case, script, standalone.Ran(doc, printed, ""), standalone.stored(stored, THRESHOLD_CASE))
    for text in ("## Environment", "- mindspore: 2.", "keep_tv = torchvision.ops.nms(boxes, scores, 0.3)",
                 "ops.NMSWithMask(0.3)(Tensor(concat(boxes, scores[:, None]))); keep = idx[mask]", "- boxes: float32 [2, 4]",
                 "| mindspore vs reference (documented) | differ at 1 | 2 vs 1 | 1 (0.800000012) |",
                 "box 1 suppressed in the reference by box 0 (IoU 0.300000012 \\> 0.3)",  # a cell is data: ">" escaped
                 "Verdicts of the stored parity run", "`mindspore-nms-threshold-rounded-to-dtype`", printed.splitlines()[-1]):
        assert text in md, text
    assert script.strip() in md  # the script travels with the report


#: Cases whose stored verdicts the scripts must reach, per suite: a +inf score read past the input
#: (three divergences together), float16 (torchvision has no kernel), a NaN score, N = 0 (a
#: documented error not raised), batched_nms, and float16 decisions within rounding (UNDECIDABLE).
JUDGED = {
    "edge": ("nms[t=0.5]-f32-mapped-inf-score-padded", "nms[t=0.3]-f16-mapped-iou-exactly-0.3-float32-rounded",
             "nms[t=0.5]-f32-mapped-nan-score"),
    "standard": ("nms[t=0.5]-f32-mapped-empty", "nms[t=0.5,batched]-f32-mapped-detector-30", "nms[t=0.5]-f16-mapped-detector-2000"),
}


@pytest.mark.slow
@pytest.mark.parametrize("suite", JUDGED)
def test_the_scripts_reach_the_stored_runs_verdicts(tmp_path, suite):
    stored = tmp_path / "run"
    r = parity("run", "--op", "nms", "--suite", suite, "-k", f"id in {JUDGED[suite]!r}", "--out", str(stored))
    assert r.returncode == 0, r.stdout + r.stderr
    reached = set()
    for k, case_id in enumerate(JUDGED[suite]):
        (tmp_path / str(k)).mkdir()
        doc, _, _ = _run_script(stored, case_id, suite, tmp_path / str(k))
        reached |= {v[2] for v in _same_verdicts(doc, stored, case_id)}
    assert reached >= {"edge": {"EXPECTED_DIVERGENCE", "UNSUPPORTED"}, "standard": {"EXPECTED_DIVERGENCE", "UNDECIDABLE"}}[suite]


def test_one_framework_alone_and_the_two_candidates_of_a_reordered_list(tmp_path):
    """``--framework`` runs one framework in the script's own process; where MindSpore returns
    sorted positions, the first differing position names both boxes, their scores and their IoU."""
    case = repro.find_case(DOCSTRING_CASE, "seed")
    path = tmp_path / "r.py"
    path.write_text(repro.script(case))
    out = subprocess.run([sys.executable, str(path), "--framework", "torchvision"], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "torchvision keeps [2, 0, 1]", out.stdout + out.stderr
    ns = _namespace(case)
    rows, verdicts = ns["compare"]({"torchvision": {"keep": [2, 0, 1]}, "mindspore": {"keep": [0, 1, 2]}})
    d = next(r for r in rows if r["label"] == "mindspore vs torchvision")["difference"]
    assert (d["position"], d["got_box"], d["expected_box"], d["same_entries"]) == (0, 0, 2, True)
    assert (d["got_score"], d["expected_score"]) == (float(np.float32(0.63)), float(np.float32(0.9)))
    assert d["iou"] == 0.0  # boxes 0 and 2 of the docstring do not overlap
    # against a prediction of sorted positions, an entry names the box torch's order puts there
    [positions] = [d["semantics"] for d in ns["DECLARED"]["mindspore"] if d["divergence"] == "mindspore-nms-output-idx-is-sorted-position"]
    d = ns["against"]("indices vs positions", "mindspore", [2, 0, 1], positions)["difference"]
    order = stable_order(case.scores).tolist()
    assert d["positions"] and (d["got_box"], d["got_input_box"], d["expected_box"], d["expected_input_box"]) == (2, order[2], 0, order[0])
    assert d["got_score"] == float(case.scores[order[2]])
    assert verdicts[-1]["verdict"] == "EXPECTED_DIVERGENCE" and verdicts[-1]["divergence"] == "mindspore-nms-output-idx-is-sorted-position"


def test_an_unknown_case_is_one_line_and_exit_2(tmp_path):
    r = parity("repro", "--op", "nms", THRESHOLD_CASE[:-2], "--suite", "edge", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 2
    message = r.stderr.strip()
    assert len(message.splitlines()) == 1 and "did you mean" in message and THRESHOLD_CASE in message, message
    assert not list(tmp_path.iterdir())


def test_an_unwritable_out_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = parity("repro", "--op", "nms", THRESHOLD_CASE, "--suite", "edge", "--out", str(blocker / "reports"), "--no-run")
    assert r.returncode == 2
    message = r.stderr.strip()
    assert len(message.splitlines()) == 1 and "cannot write to output folder" in message, message


def test_a_case_from_a_regression_folder(tmp_path):
    [case] = OP.cases("standard", "nms[t=0.5,batched]-f32-translated-detector-30")
    OP.save_regression(case, tmp_path / "fx")
    [kept] = OP.load_fixtures(tmp_path / "fx", 1 << 30, None)
    found = repro.find_case(kept.id, "standard", tmp_path / "fx")
    for k in ("boxes", "scores", "idxs"):
        assert found.inputs[k].tobytes() == case.inputs[k].tobytes()
    r = parity("repro", "--op", "nms", kept.id, "--fixtures", str(tmp_path / "fx"), "--out", str(tmp_path / "r"), "--no-run")
    assert r.returncode == 0, r.stdout + r.stderr
    md = (tmp_path / "r" / f"{standalone.short_name(kept.id)}.md").read_text()
    assert "keep_tv = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)" in md and "(not run here: --no-run)" in md
