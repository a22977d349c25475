"""The short forms of a run: the headline, ``parity-summary.md`` and ``parity run --format json``.

"No unexpected result" is not "the frameworks agree": a documented divergence is expected and
still a difference a migrating user must handle.  The headline says both, separately.
``parity-summary.md`` is the part of parity.md a pull-request comment or a CI job summary can
hold: GitHub refuses a comment over 65,536 characters, so the summary is cut to fit, saying so.
"""
from __future__ import annotations

from typing import Any

from parity.engine import commands, summary
from parity import frameworks, ops
from parity.engine.model import Verdict
from parity.engine.session import RunReport
from parity.engine.text import markdown as _md
from parity.engine.text import markdown_code as _code

#: GitHub's limit on a comment (and so on a summary meant to be posted as one), in characters.
SUMMARY_LIMIT = 65_536
#: Verdicts of a "X vs source framework" comparison whose numbers differ (expected or not).
_DIFFERS = (Verdict.EXPECTED_DIVERGENCE, Verdict.MISMATCH, Verdict.DIVERGENCE_CHANGED)


def source(report: RunReport) -> str:
    """The framework users port from (the op's first framework): every other one is compared with it."""
    return ops.get(report.op).frameworks[0]


def differences(report: RunReport) -> dict[str, tuple[int, int]]:
    """Per framework compared with the source framework: (cases whose numbers differ, cases compared)."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    origin = source(report)
    for c in report.comparisons:
        if c.expected != origin or c.verdict is Verdict.UNSUPPORTED:
            continue
        differ, compared = found.setdefault(c.actual, (set(), set()))
        if c.verdict is Verdict.PASS or c.verdict in _DIFFERS:  # a crash or an undecidable case compared nothing
            compared.add(c.case_id)
        if c.verdict in _DIFFERS:
            differ.add(c.case_id)
    return {r: (len(d), len(n)) for r, (d, n) in found.items()}


def _paired(report: RunReport, runner: str) -> set[str]:
    origin = source(report)
    return {c.case_id for c in report.comparisons if c.expected == origin and c.actual == runner and c.verdict is not Verdict.UNSUPPORTED}


def headline(report: RunReport) -> str:
    """``Nothing unexpected. MindSpore differs from torchvision on 4 of 511 cases (all expected).``"""
    bad = summary.unexpected(report)
    first = f"{len(bad)} unexpected results." if bad else "Nothing unexpected."
    parts = []
    origin = frameworks.display_name(source(report))
    for runner, (differ, compared) in differences(report).items():
        name = frameworks.display_name(runner)
        if differ:
            parts.append(f"{name} differs from {origin} on {differ} of {compared} cases")
        elif compared:
            parts.append(f"{name} agrees with {origin} on " + (f"all {compared} cases" if compared != 1 else "its one case"))
        undecided = len(_paired(report, runner)) - compared
        if undecided:
            parts.append(f"{name} vs {origin} not decided on {undecided} cases (crash, error, timeout or undecidable)")
    return first + (" " + "; ".join(parts) + "." if parts else "")


def to_json(report: RunReport, written: list[str]) -> dict[str, Any]:
    """``parity run --format json``: the summary a script needs (parity.json has every case)."""
    return {
        "suite": report.suite,
        "runners": list(report.runners),
        "cases": report.cases,
        "headline": headline(report),
        "unexpected": [
            {"case": c.case_id, "pair": summary.pair_label(c), "verdict": c.verdict.value, "message": c.message}
            for c in summary.unexpected(report)
        ],
        "summary": {k: dict(v) for k, v in summary.verdict_counts(report).items()},
        "differences": {r: {"differ": d, "compared": n} for r, (d, n) in differences(report).items()},
        "divergences": {s.divergence.name: {"cases": s.cases, "max_abs": s.max_abs} for s in summary.divergences_seen(report)},
        "exit_status": summary.exit_code(report),
        "reports": written,
    }


def head_lines(report: RunReport) -> list[str]:
    """The title, the headline and the verdict counts per pair: how both Markdown reports begin."""
    counts = summary.verdict_counts(report)
    present = [v.value for v in Verdict if any(v.value in c for c in counts.values())]
    return [
        f"# parity report: {ops.get(report.op).title}, suite {_code(report.suite)}",
        "",
        f"**{_md(headline(report))}**",
        "",
        "| pair | " + " | ".join(present) + " |",
        "|---|" + "---|" * len(present),
        *(f"| {_md(pair)} | " + " | ".join(str(c.get(v, 0)) for v in present) + " |" for pair, c in counts.items()),
    ]


def render(report: RunReport, limit: int = SUMMARY_LIMIT) -> str:
    """The summary-only Markdown: headline, verdict counts, divergences, unexpected results (cut to ``limit`` characters)."""
    head = [*head_lines(report), ""]
    seen = summary.divergences_seen(report)
    if seen:
        head += ["Divergences: " + "; ".join(
            f"{_code(s.divergence.name)} {s.cases} cases, up to {s.max_abs:.3g}" for s in seen) + ".", ""]
    undecidable = summary.undecidable(report)
    if undecidable:
        head += [f"{len(undecidable)} comparisons are undecidable in their dtype (expected; see parity.md).", ""]
    bad = summary.unexpected(report)
    head += [f"## Unexpected results ({len(bad)})", ""]
    tail = ["", "Every case, tolerance and error: parity.md, parity.html, parity.json."]
    lines = [] if bad else ["None."]
    used = len("\n".join(head + tail)) + 200  # room for the "... and N more" line
    for i, c in enumerate(bad):
        item = (f"- **{c.verdict.value}** {_code(c.case_id)} {_md(summary.pair_label(c))}: {_md(c.message[:300])}\n"
                f"  - repro: {_code(commands.repro(report.suite, c.case_id, report.runners, report.op))}")
        if used + len(item) + 1 > limit:
            lines.append(f"- ... and {len(bad) - i} more (parity.md, parity.html)")
            break
        lines.append(item)
        used += len(item) + 1
    return "\n".join(head + lines + tail) + "\n"
