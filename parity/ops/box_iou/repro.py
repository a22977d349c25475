"""``parity repro --op box_iou``: one case as a standalone script and a bug-report body.

The script (``repro_<short>.py``, template ``templates/repro_script.py.txt``) embeds the case's
boxes, calls torchvision.ops.box_iou and mindspore.ops.iou as the case's port does (mapped,
renamed or translated: parity.ops.box_iou.signature.to_mindspore), each in a child process of
its own, and compares both with a compact float64 NumPy IoU under each framework's documented
semantics and under every declared prediction that applies, fed with the very Semantics the
judge evaluates (parity.ops.box_iou.semantics).  It imports numpy and the frameworks only, so it
carries its own copy of the formula and of the documented domains; tests/test_box_iou_repro.py
holds that copy to parity.ops.box_iou.reference on every standard and edge case.
"""
from __future__ import annotations

import dataclasses
import pprint
import sys
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from parity.engine import standalone, text
from parity.engine.errors import UsageError
from parity.engine.model import Case, Port
from parity.ops.box_iou import semantics
from parity.ops.box_iou.divergences import applicable
from parity.ops.box_iou.signature import torchvision_call, to_mindspore

#: Largest case (elements of both box arrays) embedded as literals.
MAX_ELEMENTS = 100_000
FRAMEWORKS = ("torchvision", "mindspore")
#: What the script imports, as the report says (``standalone.closing_lines``).
NEEDS = "standalone: numpy, torch, torchvision, mindspore; each framework runs in a process of its own"


def template() -> Template:
    """The script template (``templates/repro_script.py.txt``, package data)."""
    return standalone.template("parity.ops.box_iou")


def find_case(case_id: str, suite: str, fixtures: Path | None = None) -> Case:
    """The case ``case_id`` of a suite, or of a fixture folder when one is given."""
    from parity import ops

    return standalone.find_case(ops.get("box_iou"), case_id, suite, fixtures)


def declared_behaviours(case: Case) -> dict[str, list[dict[str, Any]]]:
    """Per framework: each declared reaction (raises / output, a message fragment, a result dtype)
    to input outside its documented domain that applies (parity.ops.box_iou.divergences.Behaviour)."""
    found = {fw: [{"divergence": d.name, **dataclasses.asdict(d.behaviour)} for d in applicable(case, fw) if d.behaviour]
             for fw in FRAMEWORKS}
    return {fw: b for fw, b in found.items() if b}


def mapping_note(case: Case) -> str:
    if case.port is Port.TRANSLATED:
        return ("The MindSpore call is the exact translation (parity translate --op box_iou): the mapped call\n"
                "on boxes whose x2 and y2 are lowered by MINDSPORE['shift'].")
    if case.port is Port.DEFAULTS:
        return ("The MindSpore call is the torchvision call renamed only (anchor_boxes = boxes1): MindSpore\n"
                "documents its result as gt by anchor, the transpose of torchvision's.")
    return ("The MindSpore call is the mapped one: boxes1 as gt_boxes, so that the documented [M', N']\n"
            "result is torchvision's [N, M].")


def _inputs(case: Case) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(case.inputs["boxes1"]), np.asarray(case.inputs["boxes2"])


def script(case: Case) -> str:
    """The standalone reproduction script of ``case``."""
    b1, b2 = _inputs(case)
    if b1.size + b2.size > MAX_ELEMENTS:
        raise UsageError(f"case {case.id} has {b1.size + b2.size} box coordinates; parity repro embeds at most {MAX_ELEMENTS} as literals")
    documented, declared = standalone.semantics_json(case, FRAMEWORKS, semantics.documented, semantics.predicted)
    fields = {
        "case_id_repr": repr(case.id), "suite_repr": repr(case.suite), "mapping_note": mapping_note(case),
        "script_name": standalone.short_name(case.id) + ".py", "mode_repr": repr(case.attrs.mode),
        "boxes1": standalone.literal(b1), "dtype1": repr(b1.dtype.str), "shape1": repr(tuple(b1.shape)),
        "boxes2": standalone.literal(b2), "dtype2": repr(b2.dtype.str), "shape2": repr(tuple(b2.shape)),
        "mindspore": repr(dataclasses.asdict(to_mindspore(case.attrs, case.port))),
        "documented": pprint.pformat(documented, width=110, sort_dicts=False),
        "declared": pprint.pformat(declared, width=110, sort_dicts=False),
        "behaviours": pprint.pformat(declared_behaviours(case), width=110, sort_dicts=False),
    }
    return template().substitute(fields)


def _summary(case: Case, rows: list[dict[str, Any]], run: standalone.Stored | None) -> str:
    worst = max((r for r in rows if r.get("max_abs") is not None), key=lambda r: r["max_abs"], default=None)
    detail = ""
    if worst is not None:
        detail = f"Largest difference: {worst['label']}, {worst['max_abs']:.3g}"
        detail += f" at index {tuple(worst['index'])}." if worst["index"] else "."
    return standalone.case_line(case, run, detail)


def _outputs(found: dict[str, Any]) -> list[str]:
    """Each framework's full result, when small enough to read."""
    results = found.get("results", {})
    shown = {k: v for k, v in results.items() if "out" in v and np.asarray(v["out"]).size <= 64}
    if not shown:
        return []
    lines = ["", "Results (float64 view):", "", "```"]
    for fw, got in shown.items():
        lines.append(f"{fw} ({got['dtype']} {got['shape']}):\n{np.array2string(np.asarray(got['out']), precision=7)}")
    return lines + ["```"]


def _rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    def cell(r: dict[str, Any]) -> list[str]:
        if "declared" in r:
            return [r["label"], "-", "-", "-", "-", "-", f"declared {r['declared']}; got {r['got']}" + ("" if r["holds"] else " (NOT as declared)")]
        if r.get("undefined"):
            return [r["label"], "undefined", "-", "-", "-", "-", r["undefined"]]
        if r["max_abs"] is None:
            return [r["label"], "-", "-", "-", "-", "-", f"shape {tuple(r['shape'])} vs {tuple(r['expected_shape'])}"]
        dtype = f"{r['dtype']} (expected {r['expected_dtype']})" if "dtype" in r else ""
        return [r["label"], f"{r['max_abs']:.6g}", str(tuple(r["index"] or ())), repr(r["got"]), repr(r["expected"]),
                str(r["nan_mismatch"]), dtype]

    return [cell(r) for r in rows]


def markdown(case: Case, script_text: str, ran: standalone.Ran, run: standalone.Stored | None) -> str:
    """The bug-report body: environment, call, inputs, expected vs got, known differences, how to reproduce."""
    name = standalone.short_name(case.id) + ".py"
    found = ran.found or {}
    rows = found.get("comparisons", [])
    b1, b2 = _inputs(case)
    out = [
        f"# box_iou: `mindspore.ops.iou` vs `torchvision.ops.box_iou` on case {text.markdown_code(case.id)}", "",
        _summary(case, rows, run), "", "## Environment", "",
        *standalone.versions_lines(found.get("versions"), run), "", "## The call", "", "```python",
        f"out_tv = {torchvision_call(case.attrs, case.port)}" + ("  # IoU only: no iof mode" if case.attrs.mode != "iou" else ""),
        f"out_ms = {to_mindspore(case.attrs, case.port).render()}", "```", "",
        mapping_note(case).replace("\n", " "), "", "## Inputs", "",
        f"- boxes1: {b1.dtype} {list(b1.shape)}", f"- boxes2: {b2.dtype} {list(b2.shape)}",
    ]
    if b1.size + b2.size <= 160:
        out += ["", "```", "boxes1 =", np.array2string(b1, precision=8), "boxes2 =", np.array2string(b2, precision=8), "```"]
    out += ["", "## Expected vs got", ""]
    if ran.found is not None:
        out += [standalone.raised_line(fw, got["error"]) for fw, got in found.get("results", {}).items() if "error" in got]
        out += [f"- {fw}: {text.markdown(got['not_run'])}" for fw, got in found.get("results", {}).items() if "not_run" in got]
        out += standalone.table(["comparison", "max abs diff", "at index", "got", "expected", "NaN positions differing", "dtype"], _rows(rows))
        out += _outputs(found)
    out += standalone.closing_lines(name, ran, run, [d for fw in FRAMEWORKS for d in applicable(case, fw)], script_text, NEEDS)
    return "\n".join(out)


def write(case: Case, out_dir: Path, *, execute: bool = True, python: str = sys.executable,
          results_dir: Path | None = None) -> standalone.Written:
    """Write ``repro_<short>.py`` and ``repro_<short>.md`` for ``case`` into ``out_dir``."""
    return standalone.write(case, out_dir, script, markdown, execute=execute, python=python, results_dir=results_dir)
