"""``parity.xml``: JUnit XML for CI test views, one testcase per case and comparison pair.

classname is the pair (``mindspore vs torchvision``), name the case id.  Unexpected verdicts
are failures (``type`` = the verdict); EXPECTED_DIVERGENCE and UNSUPPORTED are skipped, with
the reason; PASS is a plain testcase.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from parity.engine import commands, summary
from parity.engine.model import Case, Comparison, Verdict
from parity.engine.session import RunReport
from parity.engine.text import visible

_SKIPPED = (Verdict.EXPECTED_DIVERGENCE, Verdict.UNSUPPORTED, Verdict.UNDECIDABLE)


def _clean(text: str) -> str:
    """Data as one printable line: also every character XML 1.0 cannot hold is written as an escape
    (a framework's error text, or a stranger's case id, may carry them)."""
    return visible(text)


def _skip_reason(c: Comparison) -> str:
    named = f" ({c.divergence})" if c.divergence and c.divergence not in c.message else ""
    return _clean(f"{c.verdict.value}{named}: {c.message}")


def _testcase(c: Comparison, report: RunReport) -> ET.Element:
    case = ET.Element("testcase", classname=_clean(summary.pair_label(c)), name=_clean(c.case_id), time="0")
    if c.verdict.unexpected:
        repro = commands.repro(report.suite, c.case_id, report.runners, report.op)
        failure = ET.SubElement(case, "failure", message=_clean(f"{c.verdict.value}: {c.message}"), type=c.verdict.value)
        failure.text = "\n".join(_clean(line) for line in (f"{c.actual} vs {c.expected}", c.message, f"repro: {repro}"))
    elif c.verdict in _SKIPPED:
        ET.SubElement(case, "skipped", message=_skip_reason(c))
    return case


def document(report: RunReport) -> ET.ElementTree:
    cases = [_testcase(c, report) for c in report.comparisons]
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(c.verdict.unexpected for c in report.comparisons)),
        "errors": "0",
        "skipped": str(sum(c.verdict in _SKIPPED for c in report.comparisons)),
        "time": f"{report.wall_seconds:.3f}",
    }
    root = ET.Element("testsuites", {"name": "parity", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": f"parity.{report.suite}", **counts})
    props = ET.SubElement(suite, "properties")
    for name, value in [*sorted(report.versions.items()), ("machine", report.machine), ("runners", ",".join(report.runners))]:
        ET.SubElement(props, "property", name=_clean(name), value=_clean(value))
    suite.extend(cases)
    ET.indent(root, space=" ")
    return ET.ElementTree(root)


def write(report: RunReport, cases: list[Case], path: Path) -> None:
    document(report).write(path, encoding="utf-8", xml_declaration=True)
