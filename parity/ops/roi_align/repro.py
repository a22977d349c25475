"""``parity repro``: one case as a standalone script and a bug-report body, ready to file upstream.

The script (``repro_<short>.py``) embeds the case's exact inputs, calls torchvision.ops.roi_align
and mindspore.ops.ROIAlign as the case does, and compares both with a compact float64 NumPy
RoIAlign under each framework's documented semantics, and under the declared semantics where a
divergence predicts others.  It imports numpy and the frameworks only, never parity, so it carries
its own copy of the kernel (template: ``parity/ops/roi_align/templates/repro_script.py.txt``), fed with the very
Semantics parity's judge evaluates (parity.ops.roi_align.divergence), every Convention field included.
tests/test_repro.py checks that copy against parity.ops.roi_align.reference on every case of the standard and
edge suites that a divergence covers, and per Convention field.  The Markdown body
(``repro_<short>.md``) holds the versions, the call, the inputs and expected vs got, taken from
running the script and, when given, from a stored run.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import numpy as np

from parity.engine import standalone, text
from parity.engine.errors import UsageError
from parity.engine.model import Case, Port

if TYPE_CHECKING:
    from parity.ops.roi_align.mapping import Semantics

#: Largest case (features + rois elements) embedded as literals.
MAX_ELEMENTS = 100_000
#: The frameworks the script runs.
FRAMEWORKS = ("torchvision", "mindspore")

#: Heading of the stored run's verdicts in the report.
VERDICTS_HEADING = "Verdicts of the stored parity run (tolerance: torch.testing's dtype table plus a rounding bound):"


def template() -> Template:
    """The script template (``templates/repro_script.py.txt``, package data)."""
    return standalone.template("parity.ops.roi_align")


def find_case(case_id: str, suite: str, fixtures: Path | None = None) -> Case:
    """The case ``case_id`` of a suite, or of a fixture folder (parity.ops.roi_align.fixtures) when one is given."""
    from parity import ops

    return standalone.find_case(ops.get("roi_align"), case_id, suite, fixtures)


def semantics_fields(sem: Semantics) -> dict[str, Any]:
    """The script's form of a Semantics: its convention's name, sampling ratio and every rule of its
    Convention (all fields but the prose ``documented_by``), the keyword arguments of the script's
    ``reference``.  A field added to Convention reaches the script, whose kernel then has to know it."""
    conv = sem.convention
    rules = {f.name: getattr(conv, f.name) for f in dataclasses.fields(conv) if f.name not in ("name", "documented_by")}
    return {"convention": conv.name, "sampling_ratio": sem.sampling_ratio, **rules}


def _frameworks_semantics(case: Case) -> tuple[dict[str, Semantics], dict[str, tuple[str, Semantics]]]:
    """Documented semantics per framework, and the declared (predicted) ones, with the divergences
    that declare them, where they differ: exactly what parity's judge evaluates (parity.ops.roi_align.divergence)."""
    from parity.ops.roi_align.divergence import documented_semantics, predicted_semantics, predictions_for

    documented, declared = {}, {}
    for fw in FRAMEWORKS:
        doc, pred = documented_semantics(fw, case.attrs, case.port), predicted_semantics(fw, case)
        documented[fw] = doc
        if pred.key != doc.key:
            names = ", ".join(dict.fromkeys(d.name for d, p in predictions_for(fw, case, backward=False) if p.variant))
            declared[fw] = (names, pred)
    return documented, declared


def _calls(case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
    from parity.ops.roi_align.mapping import to_mindspore

    a = case.attrs
    tv = {"output_size": tuple(a.output_size), "spatial_scale": a.spatial_scale, "sampling_ratio": a.sampling_ratio,
          "aligned": a.aligned}
    return tv, dataclasses.asdict(to_mindspore(a, case.port))


def _roi_shift(case: Case) -> tuple[float, float]:
    """What the script adds to MindSpore's roi starts and ends (only a translated case shifts them)."""
    if case.port is not Port.TRANSLATED:
        return (0.0, 0.0)
    from parity.ops.roi_align.translate import translated_shift

    shift = translated_shift(case.attrs)
    return (float(shift.start), float(shift.end))


def _mapping_note(case: Case) -> str:
    if case.port is Port.TRANSLATED:
        return ("The MindSpore call is the exact translation of the torchvision call (parity translate):\n"
                "the mapped call on rois shifted by MINDSPORE_ROI_SHIFT.")
    if case.port is Port.DEFAULTS:
        return ("The MindSpore call is the torchvision call renamed only: sample_num and roi_end_mode keep\n"
                "MindSpore's defaults.")
    return ("The MindSpore call is derived through the MindSpore migration note's mapping\n"
            "(output_size -> pooled_height/pooled_width, sampling_ratio -> sample_num, aligned -> roi_end_mode).")


def script(case: Case) -> str:
    """The standalone reproduction script of ``case``."""
    import pprint

    size = case.features.size + case.rois.size
    if size > MAX_ELEMENTS:
        raise UsageError(
            f"case {case.id} has {size} input elements; parity repro embeds at most {MAX_ELEMENTS} as literals"
        )
    if case.features.size == 0 or case.rois.size == 0:  # the template's literals do not keep an empty shape
        raise UsageError(f"case {case.id} has an empty features or rois array; parity repro embeds non-empty inputs only")
    tv, ms = _calls(case)
    documented, declared = _frameworks_semantics(case)
    fields = {
        "case_id_repr": repr(case.id), "suite_repr": repr(case.suite), "mapping_note": _mapping_note(case),
        "script_name": standalone.short_name(case.id) + ".py", "dtype": case.dtype,
        "features": standalone.literal(case.features), "rois": standalone.literal(case.rois), "boxes_as_list": case.boxes == "list",
        "torchvision": repr(tv), "mindspore": repr(ms), "mindspore_roi_shift": repr(_roi_shift(case)),
        "documented": pprint.pformat({fw: semantics_fields(sem) for fw, sem in documented.items()}, width=110,
                                     sort_dicts=False),
        "declared": pprint.pformat(
            {fw: {"divergence": names, "semantics": semantics_fields(sem)} for fw, (names, sem) in declared.items()},
            width=110, sort_dicts=False,
        ),
    }
    return template().substitute(fields)


def _arrays(case: Case, found: dict[str, Any]) -> list[str]:
    """Full outputs and references when they are small enough to read."""
    from parity.ops.roi_align import reference
    from parity.engine.errors import InvalidInput

    outputs = found.get("outputs", {})
    if not outputs or any(np.asarray(v).size > 64 for v in outputs.values()):
        return []
    lines = ["", "Full outputs (float64 view):", "", "```"]
    documented, _ = _frameworks_semantics(case)
    for fw in FRAMEWORKS:
        if fw in outputs:
            lines.append(f"{fw}:\n{np.array2string(np.asarray(outputs[fw]), precision=7)}")
            sem = documented[fw]
            try:
                ref = reference.roi_align(case.features, case.rois, case.attrs.output_size, case.attrs.spatial_scale,
                                          sem.sampling_ratio, sem.convention)
            except InvalidInput as exc:
                lines.append(f"reference ({sem.convention.name}): undefined ({exc})")
                continue
            lines.append(f"reference ({sem.convention.name}):\n{np.array2string(ref, precision=7)}")
    return lines + ["```"]


def markdown(case: Case, script_text: str, ran: standalone.Ran, run: standalone.Stored | None) -> str:
    """The bug-report body: environment, call, inputs, expected vs got, how to reproduce."""
    from parity.ops.roi_align.divergence import applicable

    tv, ms = _calls(case)
    name = standalone.short_name(case.id) + ".py"
    found = ran.found
    rows = (found or {}).get("comparisons", [])
    worst = max((r for r in rows if r["max_abs"] is not None), key=lambda r: r["max_abs"], default=None)
    summary = ""
    if worst is not None:
        summary = f"Largest difference: {worst['label']}, {worst['max_abs']:.3g}"
        summary += f" at index {tuple(worst['index'])}." if worst["index"] else "."
    f, r = case.features, case.rois
    out = [
        f"# RoIAlign: `mindspore.ops.ROIAlign` vs `torchvision.ops.roi_align` on case {text.markdown_code(case.id)}",
        "",
        standalone.case_line(case, run, summary),
        "",
        "## Environment",
        "",
        *standalone.versions_lines((found or {}).get("versions"), run),
        "",
        "## The call",
        "",
        "```python",
        f"out_tv = torchvision.ops.roi_align(features, {'boxes' if case.boxes == 'list' else 'rois'}, "
        + ", ".join(f"{k}={v!r}" for k, v in tv.items()) + ")",
        "out_ms = mindspore.ops.ROIAlign(" + ", ".join(f"{k}={v!r}" for k, v in ms.items()) + ")(features, rois)",
        "```",
        "",
        _mapping_note(case).replace("\n", " "),
        "",
        "## Inputs",
        "",
        (
            f"- features: {f.dtype} {list(f.shape)}, min {np.nanmin(f):.4g}, max {np.nanmax(f):.4g}, "
            f"mean {np.nanmean(f.astype(np.float64)):.4g} (exact values in the script)"
        ),
        f"- rois: {r.dtype} {list(r.shape)} (batch index, x1, y1, x2, y2)"
        + ("; torchvision gets them as one [L, 4] tensor per image" if case.boxes == "list" else ""),
    ]
    if len(r) <= 20:
        out += ["", "```", np.array2string(r.astype(np.float64), precision=6, suppress_small=True), "```"]
    out += ["", "## Expected vs got", ""]
    if found:
        out += [standalone.raised_line(fw, message) for fw, message in found.get("errors", {}).items()]
        out += [f"- {fw}: {text.markdown(why)}" for fw, why in found.get("not_run", {}).items()]
        out += standalone.table(
            ["comparison", "max abs diff", "at index", "got", "expected", "NaN positions differing"],
            [[rw["label"], "-" if rw["max_abs"] is None else f"{rw['max_abs']:.6g}", str(tuple(rw["index"] or ())),
              repr(rw["got"]), repr(rw["expected"]), str(rw["nan_mismatch"])] for rw in rows],
        )
        out += _arrays(case, found)
    ran = ran if found else standalone.Ran(None, ran.printed, ran.problem)  # no findings: report it as not run
    out += standalone.closing_lines(name, ran, run, applicable(case), script_text,
                                    "standalone: numpy, torch, torchvision, mindspore; no other dependency", VERDICTS_HEADING)
    return "\n".join(out)


def write(case: Case, out_dir: Path, *, execute: bool = True, python: str = sys.executable,
          results_dir: Path | None = None) -> standalone.Written:
    """Write ``repro_<short>.py`` and ``repro_<short>.md`` for ``case`` into ``out_dir``."""
    return standalone.write(case, out_dir, script, markdown, execute=execute, python=python, results_dir=results_dir)
