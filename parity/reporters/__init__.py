"""Reporters turn a RunReport into files or terminal output; none of them computes verdicts.

May import: parity.engine and the registries (parity.ops, parity.frameworks); an op is reached
only through its Op (its title, calls, divergences).
"""
from __future__ import annotations

import os
from pathlib import Path

from parity.engine import files
from parity.engine.model import Case
from parity.engine.session import RunReport


def write_all(report: RunReport, cases: list[Case], out_dir: Path) -> list[str]:
    """Write every file report of a run into ``out_dir``; returns the paths written.

    ``parity-summary.md`` is the summary alone (parity.reporters.brief), short enough to post as
    a comment.  When ``GITHUB_STEP_SUMMARY`` names a file (GitHub Actions), that summary is also
    appended to it, within GitHub's size limit (what the file already holds counts).
    """
    from parity.reporters import brief, html
    from parity.reporters import json as json_report
    from parity.reporters import junit, markdown

    md, js, page, xml, short = (
        out_dir / name for name in ("parity.md", "parity.json", "parity.html", "parity.xml", "parity-summary.md")
    )
    # Each report goes to a temporary file that replaces the old one only once complete
    # (parity.engine.files): a full disk never leaves a truncated report next to complete results.
    for writer, path in ((markdown.write, md), (json_report.write, js), (html.write, page), (junit.write, xml)):
        with files.atomic_path(path) as tmp:
            writer(report, cases, tmp)
    text = brief.render(report)
    files.atomic_write(short, text)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        path = Path(step_summary)
        room = markdown.STEP_SUMMARY_LIMIT - (path.stat().st_size if path.exists() else 0)  # the limit is per file
        text = brief.render(report, limit=min(room, brief.SUMMARY_LIMIT)) if room < len(text.encode()) else text
        if len(text.encode()) <= room:
            with open(path, "a", encoding="utf-8") as f:
                f.write(text + "\n")
    return [str(md), str(js), str(page), str(xml), str(short)]
