"""``parity.md``: summary first, then findings, then unexpected results, then every case."""
from __future__ import annotations

from pathlib import Path

from parity import summary
from parity.model import Case, Comparison, Verdict
from parity.session import RunReport

_VERDICTS = [v.value for v in Verdict]


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _row(c: Comparison) -> str:
    m = c.metrics
    tol = f"rtol {c.tolerance.rtol:g}, atol {c.tolerance.atol:g} + bound" if c.tolerance else "-"
    return (
        f"| `{c.case_id}` | {summary.pair_label(c)} | {c.verdict.value} | {tol} | "
        f"{_fmt(m.max_abs if m else None)} | {_fmt(m.max_rel if m else None)} | {_fmt(m.max_ulp if m else None)} |"
    )


def render(report: RunReport, cases: list[Case]) -> str:
    counts = summary.verdict_counts(report)
    present = [v for v in _VERDICTS if any(v in c for c in counts.values())]
    rate = report.cases / report.wall_seconds if report.wall_seconds else 0.0
    lines = [
        f"# parity report: RoIAlign, suite `{report.suite}`",
        "",
        f"{report.cases} cases, runners {', '.join(report.runners)}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.versions.items()))
        + f"; {report.machine}; wall {report.wall_seconds:.1f} s ({rate:.1f} cases/s, "
        f"of which {report.startup_seconds:.1f} s worker start-up).",
        "",
        "| pair | " + " | ".join(present) + " |",
        "|---|" + "---|" * len(present),
    ]
    for pair, c in counts.items():
        lines.append(f"| {pair} | " + " | ".join(str(c.get(v, 0)) for v in present) + " |")
    lines += ["", "## Divergences observed", ""]
    seen = summary.divergences_seen(report)
    if not seen:
        lines.append("None.")
    for s in seen:
        kind = "documented" if s.divergence.documented else "found by measurement"
        lines += [
            f"### `{s.divergence.name}` ({kind})",
            "",
            f"{s.cases} cases; largest difference explained: {s.max_abs:.3g} (e.g. `{s.example}`).",
            "",
            s.divergence.explanation,
            "",
            f"Evidence: {s.divergence.evidence}",
            "",
        ]
    bad = summary.unexpected(report)
    lines += ["", f"## Unexpected results ({len(bad)})", ""]
    for c in bad:
        lines.append(f"- **{c.verdict.value}** `{c.case_id}` {summary.pair_label(c)}: {c.message}")
        lines.append(f"  - repro: `parity run --suite {report.suite} -k '{c.case_id}'`")
    if not bad:
        lines.append("None.")
    lines += [
        "",
        "## Every case",
        "",
        "<details><summary>All comparisons (case, pair, verdict, tolerance, max abs / rel / ULP error)</summary>",
        "",
        "| case | pair | verdict | tolerance | max abs | max rel | max ULP |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [_row(c) for c in report.comparisons]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def write(report: RunReport, cases: list[Case], path: Path) -> None:
    path.write_text(render(report, cases))
