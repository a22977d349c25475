"""``parity repro --op nms``: one case as a standalone script and a bug-report body.

The script (``repro_<short>.py``, template ``templates/repro_script.py.txt``) embeds the case's
boxes, scores and classes bit for bit, calls torchvision.ops.nms (batched_nms) and
mindspore.ops.NMSWithMask as the case's port does (the note's call or the exact translation:
parity.ops.nms.signature.mindspore_inputs), each in a child process of its own, and compares each
framework's kept indices exactly with a compact float64 NumPy greedy NMS under its documented
semantics and under every declared prediction that applies, fed with the very Semantics the judge
evaluates (parity.ops.nms.semantics), then MindSpore with torchvision, reaching the judge's verdicts.
It imports numpy and the frameworks only, so it carries its own copy of the greedy NMS, of the two
visiting orders these frameworks need (torch's stable sort, MindSpore's bitonic network), of the
rounding bound that makes a decision UNDECIDABLE and of the documented domains; a semantics with
another order (Paddle's introsort, ONNX Runtime's heap) is reported as not reproduced, never as
agreement.  tests/test_nms_repro.py holds that copy to parity.ops.nms.reference on every case of
the standard, edge, invalid and disagreement suites.
"""
from __future__ import annotations

import pprint
import sys
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from parity.engine import standalone, text
from parity.engine.compare import UNIT_ROUNDOFF
from parity.engine.errors import UsageError
from parity.engine.model import Case, Port
from parity.ops.nms import semantics
from parity.ops.nms.divergences import applicable
from parity.ops.nms.mindspore import SUPPORTED_DTYPES
from parity.ops.nms.reference import SAFETY
from parity.ops.nms.signature import mindspore_call, torchvision_call

#: Largest case (elements of boxes, scores and classes) embedded as literals.
MAX_ELEMENTS = 100_000
FRAMEWORKS = ("torchvision", "mindspore")
#: What the script imports, as the report says (``standalone.closing_lines``).
NEEDS = "standalone: numpy, torch, torchvision, mindspore; each framework runs in a process of its own"
#: Boxes listed in the report (the script holds them all).
SHOWN_BOXES = 40
#: Kept indices listed per list in the report.
SHOWN_KEPT = 64


def template() -> Template:
    """The script template (``templates/repro_script.py.txt``, package data)."""
    return standalone.template("parity.ops.nms")


def find_case(case_id: str, suite: str, fixtures: Path | None = None) -> Case:
    """The case ``case_id`` of a suite, or of a regression folder when one is given."""
    from parity import ops

    return standalone.find_case(ops.get("nms"), case_id, suite, fixtures)


def mapping_note(case: Case) -> str:
    """How the case's port calls MindSpore, in the lines of the script's docstring."""
    batched = ("\nFor batched_nms both calls see boxes + idxs * (boxes.max() + 1), the coordinate trick\n"
               "torchvision's CPU batched_nms itself uses below 1000 boxes.") if case.attrs.batched else ""
    if case.port is Port.TRANSLATED:
        return ("The MindSpore call is the exact translation (parity translate --op nms): the boxes in\n"
                "torchvision's order with distinct keys N, ..., 1 as scores, the threshold floored to the\n"
                "dtype, keep = order[mask]." + batched)
    return ("The MindSpore call is the migration note's: boxes and scores packed into one [N, 5] input,\n"
            "the kept indices read as output_idx[selected_mask]." + batched)


def _inputs(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    idxs = case.inputs.get("idxs")
    return np.asarray(case.inputs["boxes"]), np.asarray(case.inputs["scores"]), None if idxs is None else np.asarray(idxs)


def _pformat(value: Any) -> str:
    return pprint.pformat(value, width=110, sort_dicts=False)


def script(case: Case) -> str:
    """The standalone reproduction script of ``case``."""
    boxes, scores, idxs = _inputs(case)
    size = boxes.size + scores.size + (0 if idxs is None else idxs.size)
    if size > MAX_ELEMENTS:
        raise UsageError(f"case {case.id} has {size} input elements; parity repro embeds at most {MAX_ELEMENTS} as literals")
    documented, declared = standalone.semantics_json(case, FRAMEWORKS, semantics.documented, semantics.predicted)
    raises = {fw: d.name for fw in FRAMEWORKS for d in applicable(case, fw) if d.documented_raises}
    differences = {fw: names for fw in FRAMEWORKS if (names := [d.name for d in applicable(case, fw) if d.documented])}
    fields = {
        "case_id_repr": repr(case.id), "suite_repr": repr(case.suite), "invalid_repr": repr(bool(case.invalid)),
        "mapping_note": mapping_note(case),
        "script_name": standalone.short_name(case.id) + ".py",
        "boxes": standalone.array_source(boxes), "scores": standalone.array_source(scores),
        "idxs": "None" if idxs is None else standalone.array_source(idxs),
        "threshold_repr": repr(float(case.attrs.iou_threshold)), "batched_repr": repr(bool(case.attrs.batched)),
        "port_repr": repr("translated" if case.port is Port.TRANSLATED else "mapped"),
        "mindspore_dtypes": repr(tuple(SUPPORTED_DTYPES)),
        "documented": _pformat(documented), "declared": _pformat(declared),
        "documented_raises": _pformat(raises), "documented_differences": _pformat(differences),
        "unit_roundoff": _pformat(dict(UNIT_ROUNDOFF)), "safety": repr(float(SAFETY)),
    }
    return template().substitute(fields)


def _listed(keep: list[int]) -> str:
    return f"[{', '.join(map(str, keep[:SHOWN_KEPT]))}{', ...' if len(keep) > SHOWN_KEPT else ''}]"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.9g}"


def _entry(d: dict[str, Any], side: str) -> str:
    """A list's entry where the lists differ: ``box (score)``, or ``position -> box (score)`` when
    the list holds sorted positions (a declared prediction), ``-`` past its end."""
    k, box = d[f"{side}_box"], d[f"{side}_input_box"]
    if k is None:
        return "-"
    named = "not an input box" if box is None else _score(d[f"{side}_score"])
    return f"{k} -> {box} ({named})" if d["positions"] and box is not None else f"{k} ({named})"


def _rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """One table row per comparison: the first position where the kept lists differ, their lengths,
    the box each has there with its score, and the two boxes' IoU against the threshold."""
    def cell(r: dict[str, Any]) -> list[str]:
        if r["same"] is None:
            return [r["label"], "not compared", "-", "-", "-", "-", r["not_compared"]]
        d = r["difference"]
        if d is None:
            return [r["label"], "same", str(len(r["expected"])), "-", "-", "-", ""]
        got, want = _entry(d, "got"), _entry(d, "expected")
        iou = "-" if d["iou"] is None else f"{d['iou']:.9g} vs {d['threshold']:.9g}" + (f" (+- {d['iou_bound']:.3g})" if d["iou_bound"] else "")
        notes = []
        if d["suppressed_by"] is not None:
            notes.append(f"box {d['got_input_box']} suppressed in the reference by box {d['suppressed_by']} (IoU {d['suppressor_iou']:.9g} > {d['threshold']:.9g})")
        if d["same_entries"]:
            notes.append("same entries, another order")
        return [r["label"], f"differ at {d['position']}", f"{d['lengths'][0]} vs {d['lengths'][1]}", got, want, iou, "; ".join(notes)]

    return [cell(r) for r in rows]


def _summary(case: Case, found: dict[str, Any], run: standalone.Stored | None) -> str:
    detail = ""
    results = found.get("results", {})
    if all("keep" in results.get(fw, {}) for fw in FRAMEWORKS) and results:
        tv, ms = results["torchvision"]["keep"], results["mindspore"]["keep"]
        detail = f"torchvision keeps {len(tv)} boxes, MindSpore {len(ms)}" + (", the same list." if tv == ms else ": the lists differ.")
    return standalone.case_line(case, run, detail)


def _input_lines(case: Case) -> list[str]:
    boxes, scores, idxs = _inputs(case)
    out = [f"- {name}: {text.markdown(a.dtype)} {list(a.shape)}" for name, a in (("boxes", boxes), ("scores", scores), ("idxs", idxs)) if a is not None]
    out.append(f"- iou_threshold: {case.attrs.iou_threshold!r}")
    if boxes.ndim == 2 and boxes.shape[1:] == (4,) and scores.shape == (len(boxes),) and 0 < len(boxes) <= SHOWN_BOXES:
        head = ["box", "x1", "y1", "x2", "y2", "score"] + ([] if idxs is None else ["class"])
        table = [[str(k), *(repr(float(v)) for v in boxes[k]), repr(float(scores[k])), *([] if idxs is None else [str(int(idxs[k]))])]
                 for k in range(len(boxes))]
        out += ["", *standalone.table(head, table)]
    return out


def markdown(case: Case, script_text: str, ran: standalone.Ran, run: standalone.Stored | None) -> str:
    """The bug-report body: environment, the two calls, inputs, expected vs got, known differences, how to reproduce."""
    name = standalone.short_name(case.id) + ".py"
    found = ran.found or {}
    out = [
        f"# nms: `mindspore.ops.NMSWithMask` vs `torchvision.ops.{'batched_nms' if case.attrs.batched else 'nms'}` on case {text.markdown_code(case.id)}", "",
        _summary(case, found, run), "", "## Environment", "",
        *standalone.versions_lines(found.get("versions"), run), "", "## The call", "", "```python",
        f"keep_tv = {torchvision_call(case.attrs, case.port)}", mindspore_call(case.attrs, case.port), "```", "",
        mapping_note(case).replace("\n", " "), "", "## Inputs", "", *_input_lines(case), "", "## Expected vs got", "",
    ]
    if ran.found is not None:
        for fw, got in found.get("results", {}).items():
            out.append(f"- {fw} keeps {len(got['keep'])} boxes: {_listed(got['keep'])}" if "keep" in got
                       else next(f"- {fw}: {text.markdown(k)}: {text.markdown_code(v)}" for k, v in got.items()))
        out += ["", *standalone.table(["comparison", "kept lists", "lengths", "got box (score) there", "expected box (score) there",
                                       "their IoU vs threshold", "note"], _rows(found.get("comparisons", [])))]
        out += ["", "Verdicts of the script:", "", *standalone.table(
            ["pair", "verdict", "message"],
            [[f"{v['actual']} vs {v['expected']}", v["verdict"] + (f" ({v['divergence']})" if v["divergence"] else ""), v["message"]]
             for v in found.get("verdicts", [])])]
    out += standalone.closing_lines(name, ran, run, [d for fw in FRAMEWORKS for d in applicable(case, fw)], script_text, NEEDS,
                                    "Verdicts of the stored parity run (kept indices compared exactly):")
    return "\n".join(out)


def write(case: Case, out_dir: Path, *, execute: bool = True, python: str = sys.executable,
          results_dir: Path | None = None) -> standalone.Written:
    """Write ``repro_<short>.py`` and ``repro_<short>.md`` for ``case`` into ``out_dir``."""
    return standalone.write(case, out_dir, script, markdown, execute=execute, python=python, results_dir=results_dir)
