"""``parity.md``: summary first, then findings, then unexpected results, then every case."""
from __future__ import annotations

from pathlib import Path

from parity.engine import commands, summary
from parity.engine.model import Case, Comparison
from parity.reporters.brief import head_lines
from parity.engine.session import RunReport
from parity.engine.text import markdown as _md
from parity.engine.text import markdown_code as _code



def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _row(c: Comparison) -> str:
    m = c.metrics
    tol = f"rtol {c.tolerance.rtol:g}, atol {c.tolerance.atol:g} + bound" if c.tolerance else "-"
    return (
        f"| {_code(c.case_id, cell=True)} | {_md(summary.pair_label(c))} | {c.verdict.value} | {tol} | "
        f"{_fmt(m.max_abs if m else None)} | {_fmt(m.max_rel if m else None)} | {_fmt(m.max_ulp if m else None)} |"
    )


#: GitHub refuses a job summary over 1 MiB; the appended summary stays under this.
STEP_SUMMARY_LIMIT = 1_000_000
_STEP_SUMMARY_UNEXPECTED = 100  # unexpected results listed in a size-limited summary


def render(report: RunReport, cases: list[Case], limit: int | None = None) -> str:
    """Summary table first, then unexpected results, then the details (collapsed).

    With ``limit`` (bytes), rows of the per-case table are dropped, and said so, to fit.  Text
    that came from data (ids, messages, names, versions) goes through parity.engine.text, so that it
    shows as itself in any renderer; the repro lines come from parity.engine.commands.
    """
    rate = report.cases / report.wall_seconds if report.wall_seconds else 0.0
    bad = summary.unexpected(report)
    lines = head_lines(report)
    lines += [
        "",
        (f"**{len(bad)} unexpected results.** " if bad else "**No unexpected result.** ")
        + f"{report.cases} cases, runners {_md(', '.join(report.runners))}; "
        + ", ".join(f"{_md(k)} {_md(v)}" for k, v in sorted(report.versions.items()))
        + f"; {_md(report.machine)}; wall {report.wall_seconds:.1f} s ({rate:.1f} cases/s, "
        f"of which {report.startup_seconds:.1f} s worker start-up).",
        "",
        f"## Unexpected results ({len(bad)})",
        "",
    ]
    shown = bad if limit is None else bad[:_STEP_SUMMARY_UNEXPECTED]
    for c in shown:
        lines.append(f"- **{c.verdict.value}** {_code(c.case_id)} {_md(summary.pair_label(c))}: {_md(c.message)}")
        lines.append(f"  - repro: {_code(commands.repro(report.suite, c.case_id, report.runners, report.op))}")
    if len(shown) < len(bad):
        lines.append(f"- ... and {len(bad) - len(shown)} more (parity.md, parity.html)")
    if not bad:
        lines.append("None.")
    lines += _undecidable(report, limit)
    lines += _robustness(report) + _determinism(report)
    seen = summary.divergences_seen(report)
    lines += ["", f"<details><summary>Divergences observed ({len(seen)})</summary>", ""]
    if not seen:
        lines.append("None.")
    for s in seen:
        kind = "documented" if s.divergence.documented else "found by measurement"
        lines += [
            f"### `{s.divergence.name}` ({kind})",
            "",
            f"{s.cases} cases; largest difference explained: {s.max_abs:.3g} (e.g. {_code(s.example)}).",
            "",
            *(f"- came back: `{h}`" for h in s.held),
            *([""] if s.held else []),
            s.divergence.explanation,
            "",
            f"Evidence: {s.divergence.evidence}",
            "",
        ]
    lines += [
        "</details>",
        "",
        f"<details><summary>All comparisons ({len(report.comparisons)}: case, pair, verdict, tolerance, "
        "max abs / rel / ULP error)</summary>",
        "",
        "| case | pair | verdict | tolerance | max abs | max rel | max ULP |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [_row(c) for c in report.comparisons]
    tail = ["", "</details>", ""]
    if limit is not None:
        room = limit - len("\n".join(lines + tail).encode()) - 200
        kept, used = 0, 0
        for r in rows:
            used += len(r.encode()) + 1
            if used > room:
                break
            kept += 1
        if kept < len(rows):
            tail = [f"| ... {len(rows) - kept} more rows in parity.md / parity.html | | | | | | |", *tail]
            rows = rows[:kept]
    return "\n".join(lines + rows + tail)


def _cell(text: str) -> str:
    return _md(text[:120])


def _robustness(report: RunReport) -> list[str]:
    """Case x runner -> behaviour for invalid input; **!** marks the dangerous reactions."""
    matrix = summary.robustness_matrix(report)
    if not matrix:
        return []
    runners = list(report.runners)
    lines = [
        "",
        "## Robustness matrix",
        "",
        "How each runner treats invalid input. **!** = dangerous: a crash, or silent output where another "
        "framework raises.",
        "",
        "| case | " + " | ".join(_md(r) for r in runners) + " |",
        "|---|" + "---|" * len(runners),
    ]
    for row in matrix:
        cells = [("**!** " if r in row.dangerous else "") + _cell(row.behaviours.get(r, "-")) for r in runners]
        lines.append(f"| {_code(row.case_id, cell=True)} | " + " | ".join(cells) + " |")
    return lines


def _determinism(report: RunReport) -> list[str]:
    rows = summary.determinism(report)
    if not rows:
        return []
    lines = [
        "",
        "## Determinism",
        "",
        "| runner | pass | cases | with more than one bit pattern | most patterns | largest spread | example |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        what = "forward" if r.output == "out" else "backward"
        lines.append(
            f"| {_md(r.runner)} | {what} | {r.cases} | {r.nondeterministic} | {r.max_distinct} | {r.max_spread:.3g} | "
            f"{_code(r.example, cell=True) if r.example else '-'} |"
        )
    return lines


def write(report: RunReport, cases: list[Case], path: Path) -> None:
    path.write_text(render(report, cases))


def _undecidable(report: RunReport, limit: int | None) -> list[str]:
    """Comparisons the dtype cannot decide, each with its allowance beside what it judges."""
    found = summary.undecidable(report)
    if not found:
        return []
    lines = [
        "",
        f"## Undecidable in their dtype ({len(found)})",
        "",
        "Agreement within an allowance that is not small against what is judged (the value, or the difference "
        "between the semantics the comparison must tell apart): expected, not counted as unexpected.",
        "",
        "| case | pair | elements | allowance | judged | against | distance from exact |",
        "|---|---|---|---|---|---|---|",
    ]
    shown = found if limit is None else found[:_STEP_SUMMARY_UNEXPECTED]
    for c in shown:
        u = c.undecided
        if u is None:
            lines.append(f"| {_code(c.case_id, cell=True)} | {_md(summary.pair_label(c))} | | | | | |")
            continue
        lines.append(
            f"| {_code(c.case_id, cell=True)} | {_md(summary.pair_label(c))} | {u.elements} / {u.total} | {u.allowance:.3g} | "
            f"{u.judged:.3g} | {u.against} | {u.exact_error:.3g} |"
        )
    if len(shown) < len(found):
        lines.append(f"| ... and {len(found) - len(shown)} more (parity.md, parity.html) | | | | | | |")
    return lines
