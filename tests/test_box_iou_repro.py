"""parity repro --op box_iou: a standalone script (no parity import, each framework in a process of
its own) whose float64 IoU is parity's reference, and a bug-report body; and the repro line a
box_iou run prints for a failing case, pasted, reruns that case."""
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest

from parity import ops
from parity.engine import standalone
from parity.engine.errors import InvalidInput
from parity.ops.box_iou import repro, suites
from parity.ops.box_iou.divergences import applicable
from parity.ops.box_iou.reference import Semantics, evaluate
from tests.test_cli import ROOT, parity
from tests.test_repro import script_imports

NOTE = "box_iou[mode=iou]-f32-mapped-note"
BLOCK_PARITY = "import runpy, sys; sys.modules['parity'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
OP = ops.get("box_iou")


def _namespace(case) -> dict:
    """The names the script defines (boxes, semantics, its IoU), without running a framework."""
    namespace: dict = {"__name__": "repro_script", "__file__": "repro_script.py"}
    exec(compile(repro.script(case), "repro_script", "exec"), namespace)
    return namespace


def _all_semantics(ns: dict) -> list[dict]:
    return [*ns["DOCUMENTED"].values(), *(d["semantics"] for ds in ns["DECLARED"].values() for d in ds)]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or (np.isnan(a) != np.isnan(b)).any():
        return False
    with np.errstate(invalid="ignore"):
        return bool((np.where(np.isnan(a) | (a == b), 0.0, np.abs(a - b)) <= 1e-12).all())


@pytest.mark.parametrize("suite", ["standard", "edge", "invalid"])
def test_the_scripts_iou_is_the_reference_under_every_semantics_the_judge_evaluates(suite):
    checked = 0
    for case in OP.cases(suite):
        ns = _namespace(case)
        inputs = {"boxes1": ns["BOXES1"], "boxes2": ns["BOXES2"]}
        for k in inputs:  # the embedded boxes are the case's, bit for bit
            assert inputs[k].dtype == case.inputs[k].dtype and inputs[k].tobytes() == case.inputs[k].tobytes()
        for sem in _all_semantics(ns):
            try:
                want = evaluate(case.inputs, Semantics(**sem))[0]
            except InvalidInput:
                with pytest.raises(ns["Undefined"]):
                    ns["iou"](inputs, **sem)
                continue
            got = ns["iou"](inputs, **sem)
            assert _same(got, want), (case.id, sem["key"])
            checked += 1
    assert checked >= {"standard": 100, "edge": 100, "invalid": 5}[suite]


def test_the_scripts_iou_is_the_hand_computed_first_example():
    """Independent of parity's reference: 1/7, 1/4, 1, 0 (torchvision); (w + 1)(h + 1) areas for
    MindSpore's declared kernel, 4/14, 4/9, 1, 1/12 (tests/test_box_iou.py measures MindSpore so)."""
    [case] = [c for c in OP.cases("seed") if c.id == NOTE]
    ns = _namespace(case)
    inputs = {"boxes1": ns["BOXES1"], "boxes2": ns["BOXES2"]}
    np.testing.assert_allclose(ns["iou"](inputs, **ns["DOCUMENTED"]["torchvision"]), [[1 / 7, 1 / 4], [1, 0]], rtol=1e-15)
    [declared] = ns["DECLARED"]["mindspore"]
    assert declared["divergence"] == "mindspore-iou-pixel-inclusive-widths"
    np.testing.assert_allclose(ns["iou"](inputs, **declared["semantics"]), [[4 / 14, 4 / 9], [1, 1 / 12]], rtol=1e-9)
    iof = suites.case("t", "t", case.attrs.__class__("iof"), case.boxes1, case.boxes2, "float32", case.port, ())
    ns = _namespace(iof)  # overlap / area of the gt box (boxes1, the rows): 1/4, 1/4, 1, 0
    np.testing.assert_allclose(ns["iou"](inputs, **ns["DOCUMENTED"]["mindspore"]), [[1 / 4, 1 / 4], [1, 0]], rtol=1e-15)


def test_the_scripts_iou_is_torchvision_float64():
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    for case in OP.cases("standard", "f64-mapped"):
        ns = _namespace(case)
        got = ns["iou"]({"boxes1": ns["BOXES1"], "boxes2": ns["BOXES2"]}, **ns["DOCUMENTED"]["torchvision"])
        theirs = torchvision.ops.box_iou(torch.from_numpy(case.boxes1), torch.from_numpy(case.boxes2)).numpy()
        np.testing.assert_allclose(got, theirs, rtol=0, atol=1e-15)


def test_the_script_runs_standalone_and_prints_the_differences(tmp_path):
    r = parity("repro", "--op", "box_iou", NOTE, "--suite", "seed", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 0, r.stdout + r.stderr
    script = tmp_path / f"{standalone.short_name(NOTE)}.py"
    assert script_imports(script.read_text()) <= {"importlib", "json", "math", "os", "platform", "subprocess", "sys",
                                            "tempfile", "numpy", "torch", "torchvision", "mindspore"}
    found = tmp_path / "found.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # parity unreachable from its children too
    out = subprocess.run([sys.executable, "-c", BLOCK_PARITY, str(script), "--json", str(found)], capture_output=True,
                         text=True, cwd=tmp_path, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == NOTE and "torchvision 0." in lines[1] and "mindspore 2." in lines[1]
    assert "raised" not in out.stdout, out.stdout  # both frameworks ran, each in its own process
    diffs = {ln.split(":")[0][len("max abs diff "):]: float(ln.split(": ")[1].split()[0])
             for ln in lines if ln.startswith("max abs diff")}
    assert set(diffs) == {"torchvision vs reference (documented)", "mindspore vs reference (documented)",
                          "mindspore vs reference as declared (mindspore-iou-pixel-inclusive-widths)",
                          "mindspore vs torchvision"}
    assert diffs["torchvision vs reference (documented)"] < 1e-6
    assert diffs["mindspore vs reference as declared (mindspore-iou-pixel-inclusive-widths)"] < 1e-6
    # the finding: 4/9 where the documentation says 1/4, at boxes1[0] against boxes2[1]
    assert abs(diffs["mindspore vs reference (documented)"] - (4 / 9 - 1 / 4)) < 1e-6
    assert abs(diffs["mindspore vs torchvision"] - (4 / 9 - 1 / 4)) < 1e-6

    ran = standalone.Ran(json.loads(found.read_text()), out.stdout, "")
    [case] = [c for c in OP.cases("seed") if c.id == NOTE]
    md = repro.markdown(case, script.read_text(), ran, None)
    for text in ("## Environment", "- mindspore: 2.", "out_tv = torchvision.ops.box_iou(boxes1, boxes2)",
                 "out_ms = mindspore.ops.iou(boxes2, boxes1, mode='iou')", "- boxes1: float32 [2, 4]",
                 "| mindspore vs torchvision |", "`mindspore-iou-pixel-inclusive-widths`", lines[-1]):
        assert text in md, text
    assert script.read_text().strip() in md  # the script travels with the report


def test_one_framework_alone_and_the_renamed_calls_transpose(tmp_path):
    """``--framework`` runs one framework in the script's own process; the renamed-only call
    (anchor = boxes1) is written as such, and its documented orientation is gt by anchor."""
    case_id = "box_iou[mode=iou]-f32-defaults-note"
    [case] = [c for c in OP.cases("seed") if c.id == case_id]
    path = tmp_path / "r.py"
    path.write_text(repro.script(case))
    out = subprocess.run([sys.executable, str(path), "--framework", "torchvision"], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0 and out.stdout.startswith("torchvision: float32 [2, 2]"), out.stdout + out.stderr
    ns = _namespace(case)
    assert ns["MINDSPORE"] == {"anchor": "boxes1", "gt": "boxes2", "mode": "iou", "shift": 0.0}
    assert ns["DOCUMENTED"]["mindspore"]["rows"] == "boxes2"


def test_a_translated_case_shifts_both_inputs_in_the_script():
    case = next(c for c in OP.cases("standard") if c.port.value == "translated")
    ns = _namespace(case)
    assert ns["MINDSPORE"]["shift"] == 1.0 and ns["MINDSPORE"]["anchor"] == "boxes2"


def test_an_unknown_case_is_one_line_and_exit_2(tmp_path):
    r = parity("repro", "--op", "box_iou", NOTE[:-2], "--suite", "seed", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 2
    message = r.stderr.strip()
    assert len(message.splitlines()) == 1 and "did you mean" in message and NOTE in message, message


def _tokens(md: str) -> list:
    from markdown_it import MarkdownIt

    return [t for block in MarkdownIt().parse(md) if block.children for t in block.children]


def test_the_repro_line_of_a_failing_box_iou_case_runs(tmp_path):
    """A run whose MindSpore is wrong on purpose prints a repro line per failing case; pasted into
    bash, with parity on the PATH and the real MindSpore, it reruns exactly that case."""
    wrong = tmp_path / "wrong-mindspore"
    wrong.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m parity.engine.worker tests.wrong_box_iou\n")
    wrong.chmod(0o755)
    out = tmp_path / "out"
    r = parity("run", "--op", "box_iou", "--suite", "seed", "--out", str(out), "--python", f"mindspore={wrong}")
    assert r.returncode == 1, r.stdout + r.stderr
    tokens = _tokens((out / "parity.md").read_text())
    lines = {b.content for a, b in zip(tokens, tokens[1:])
             if a.type == "text" and a.content.endswith("repro: ") and b.type == "code_inline"}
    line = f"parity run --op box_iou --suite seed --runners torchvision,mindspore -k {shlex.quote(NOTE)}"
    assert line in lines, lines
    # the stored run's verdicts reach the bug-report body
    r = parity("repro", "--op", "box_iou", NOTE, "--suite", "seed", "--results", str(out), "--out", str(tmp_path / "r"), "--no-run")
    assert r.returncode == 0, r.stdout + r.stderr
    md = (tmp_path / "r" / f"{standalone.short_name(NOTE)}.md").read_text()
    assert "Verdicts of the stored parity run" in md and "Unexpected in the stored run: mindspore vs reference" in md
    assert "- wrong: 1" in md  # the stored run's versions, the script not having run
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "parity").write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m parity.shells.cli \"$@\"\n")
    (bin_dir / "parity").chmod(0o755)
    again = tmp_path / "again"
    again.mkdir()
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    pasted = subprocess.run(["bash", "-c", line], cwd=again, env=env, capture_output=True, text=True, timeout=600)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr  # the real MindSpore: as declared
    doc = json.loads((again / "reports" / "parity.json").read_text())  # parity run's default --out
    assert [c["id"] for c in doc["cases"]] == [NOTE]


def test_a_float16_case_shows_each_result_dtype_against_the_documented_and_the_declared_one(tmp_path):
    """torchvision returns float32 for float16 boxes (declared); the script says so per row."""
    case_id = "box_iou[mode=iou]-f16-mapped-identical"
    case = repro.find_case(case_id, "edge")
    written = repro.write(case, tmp_path)
    assert written.problem == "", written.problem
    md = (tmp_path / f"{standalone.short_name(case_id)}.md").read_text()
    lines = {ln.split(": ")[0][len("max abs diff "):]: ln for ln in md.splitlines() if ln.startswith("max abs diff")}
    for label, dtypes in (("torchvision vs reference (documented)", "float32 (expected float16)"),
                          ("torchvision vs reference as declared (torchvision-box-iou-float16-computed-in-float32)",
                           "float32 (expected float32)"),
                          ("mindspore vs reference (documented)", "float16 (expected float16)")):
        assert lines[label].startswith(f"max abs diff {label}: 0 ") and lines[label].endswith(f"dtype {dtypes}"), lines


def test_a_case_from_a_fixture_folder_and_an_iof_case_without_torchvision(tmp_path):
    [case] = [c for c in OP.cases("standard") if c.attrs.mode == "iof" and "integer" in c.id]
    OP.save_regression(case, tmp_path / "fx")
    [kept] = OP.load_fixtures(tmp_path / "fx", 1 << 30, None)
    found = repro.find_case(kept.id, "standard", tmp_path / "fx")
    assert found.inputs["boxes1"].tobytes() == case.inputs["boxes1"].tobytes()
    path = tmp_path / "r.py"
    path.write_text(repro.script(found))
    out = subprocess.run([sys.executable, str(path), "--framework", "torchvision"], capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0 and "NotImplementedError: torchvision's box_iou computes IoU only" in out.stdout, out.stdout


def test_declared_reactions_outside_the_domain_are_stated_and_checked():
    """The mixed-dtype case: torchvision is declared to promote to float64 (a behaviour, no values)."""
    case = repro.find_case("box_iou[invalid]-dtype-mismatch", "invalid")
    ns = _namespace(case)
    [decl] = ns["BEHAVIOURS"]["torchvision"]
    assert decl["divergence"] == "torchvision-box-iou-mixed-dtypes-promoted" and decl["dtype"] == "float64"
    assert "mindspore" not in ns["BEHAVIOURS"]  # MindSpore raising there is what its documentation allows
    assert ns["reaction"]("torchvision", {"out": [[0.5]], "dtype": "float64"}, decl)["holds"]
    assert not ns["reaction"]("torchvision", {"out": [[0.5]], "dtype": "float32"}, decl)["holds"]
    assert not ns["reaction"]("torchvision", {"error": "TypeError: no"}, decl)["holds"]
    rows = ns["compare"]({"torchvision": {"out": [[0.5]], "dtype": "float32", "shape": [1, 1]}, "mindspore": {"error": "TypeError: x"}})
    assert [r["label"] for r in rows] == ["torchvision vs reference (documented)",
                                          "torchvision as declared (torchvision-box-iou-mixed-dtypes-promoted)"]
    assert rows[0]["undefined"] and "NOT as declared" in ns["line"](rows[1])


def test_a_framework_the_script_could_not_call_is_held_to_nothing(monkeypatch):
    """Without torch or MindSpore importable, nothing of theirs is compared: no row holds an import
    error against a declared reaction ("raises as declared") or against the reference."""
    import sys

    cases = [c for c in OP.cases("invalid") if any(d.behaviour for fw in repro.FRAMEWORKS for d in applicable(c, fw))]
    assert cases, "the invalid suite declares reactions"
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    monkeypatch.setitem(sys.modules, "mindspore", None)
    for case in cases:
        ns = _namespace(case)
        results = {fw: ns["one_framework"](fw) for fw in repro.FRAMEWORKS}
        assert all(set(got) == {"not_run"} for got in results.values()), (case.id, results)
        assert ns["compare"](results) == [], case.id
