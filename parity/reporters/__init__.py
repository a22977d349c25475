"""Reporters turn a RunReport into files or terminal output; none of them computes verdicts."""
from __future__ import annotations

from pathlib import Path

from parity.model import Case
from parity.session import RunReport


def write_all(report: RunReport, cases: list[Case], out_dir: Path) -> list[str]:
    """Write every file report of a run into ``out_dir``; returns the paths written."""
    from parity.reporters import json as json_report
    from parity.reporters import markdown

    md, js = out_dir / "parity.md", out_dir / "parity.json"
    markdown.write(report, cases, md)
    json_report.write(report, cases, js)
    return [str(md), str(js)]
