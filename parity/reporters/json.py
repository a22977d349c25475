"""``parity.json``: the machine-readable report (schema below, versioned)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from parity import ops
from parity.engine import summary
from parity.engine.model import Case, Comparison
from parity.engine.session import RunReport

#: Bump when a field changes meaning or disappears.
SCHEMA_VERSION = 2  # 2: divergences' max_abs is over the elements each covers; comparisons' explained
SCHEMA = """\
{schema_version, op, suite, runners, versions{package: version}, machine, wall_seconds, startup_seconds,
 cases_per_second, summary{pair: {verdict: count}}, unexpected: int,
 divergences[{name, documented, explanation, evidence, cases, max_abs (over the elements it covers), example}],
 determinism[{runner, output ("out" | "grad"), cases, nondeterministic, max_distinct, max_spread, example}],
 robustness[{case, behaviours{runner: "raises: msg" | "crash: ..." | "hang: ..." | "output" | "output with NaN/Inf"},
             dangerous[runner]}],
 cases[{id, suite, attrs{the op's parameters, e.g. output_size, spatial_scale, sampling_ratio, aligned}, dtype, port, boxes, tags, op,
        calls{framework: the call it made}, statuses{runner: status},
        comparisons[{actual, expected, verdict, divergence, tolerance{rtol, atol, reason},
                     metrics{total, mismatched, max_abs, max_abs_index, max_rel, max_ulp, nan_mismatch},
                     message, explained{divergence: max_abs over the elements it covers},
                     undecided{elements, total, index, allowance, judged, against, exact_error} | null}]}]}"""


def document(report: RunReport, cases: list[Case]) -> dict[str, Any]:

    by_case: dict[str, list[Comparison]] = {}
    for c in report.comparisons:
        by_case.setdefault(c.case_id, []).append(c)
    return {
        "schema_version": SCHEMA_VERSION,
        "op": report.op,
        "suite": report.suite,
        "runners": list(report.runners),
        "versions": report.versions,
        "machine": report.machine,
        "wall_seconds": round(report.wall_seconds, 3),
        "startup_seconds": round(report.startup_seconds, 3),
        "cases_per_second": round(report.cases / report.wall_seconds, 2) if report.wall_seconds else None,
        "summary": {k: dict(v) for k, v in summary.verdict_counts(report).items()},
        "unexpected": len(summary.unexpected(report)),
        "divergences": [
            {
                "name": s.divergence.name,
                "documented": s.divergence.documented,
                "explanation": s.divergence.explanation,
                "evidence": s.divergence.evidence,
                "cases": s.cases,
                "max_abs": s.max_abs,
                "example": s.example,
            }
            for s in summary.divergences_seen(report)
        ],
        "determinism": [dataclasses.asdict(row) for row in summary.determinism(report)],
        "robustness": [
            {"case": row.case_id, "behaviours": row.behaviours, "dangerous": list(row.dangerous)}
            for row in summary.robustness_matrix(report)
        ],
        "cases": [
            {
                "id": case.id,
                "suite": case.suite,
                "attrs": case.attrs.to_json(),
                "dtype": case.dtype,
                "port": case.port.value,
                "boxes": case.boxes,
                "tags": list(case.tags),
                "op": case.op,
                "calls": ops.get(case.op).calls(case, report.runners),
                "statuses": report.statuses.get(case.id, {}),
                "comparisons": [c.to_json() for c in by_case.get(case.id, [])],
            }
            for case in cases
            if case.id in report.statuses
        ],
    }


def write(report: RunReport, cases: list[Case], path: Path) -> None:
    """Compact: Python's C encoder writes only unindented JSON, and an indented one took 6.6 s of a
    10000-case run (`python -m json.tool parity.json` indents it for reading)."""
    path.write_text(json.dumps(document(report, cases), allow_nan=False))
