"""Reporters turn a RunReport into files or terminal output; none of them computes verdicts."""
from __future__ import annotations

import os
from pathlib import Path

from parity import files
from parity.model import Case
from parity.session import RunReport


def write_all(report: RunReport, cases: list[Case], out_dir: Path) -> list[str]:
    """Write every file report of a run into ``out_dir``; returns the paths written.

    When ``GITHUB_STEP_SUMMARY`` names a file (GitHub Actions), the Markdown report is also
    appended to it, cut to fit GitHub's size limit (what the file already holds counts).
    """
    from parity.reporters import html
    from parity.reporters import json as json_report
    from parity.reporters import junit, markdown

    md, js, page, xml = (out_dir / name for name in ("parity.md", "parity.json", "parity.html", "parity.xml"))
    # Each report goes to a temporary file that replaces the old one only once complete
    # (parity.files): a full disk never leaves a truncated report next to complete results.
    for writer, path in ((markdown.write, md), (json_report.write, js), (html.write, page), (junit.write, xml)):
        with files.atomic_path(path) as tmp:
            writer(report, cases, tmp)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        path = Path(step_summary)
        room = markdown.STEP_SUMMARY_LIMIT - (path.stat().st_size if path.exists() else 0)  # the limit is per file
        with open(path, "a", encoding="utf-8") as f:
            f.write(markdown.render(report, cases, limit=room) + "\n")
    return [str(md), str(js), str(page), str(xml)]
