"""Aggregates of a run that every reporter shows: verdict counts, findings, divergence magnitudes."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from parity.divergence import Divergence
from parity.divergences import DIVERGENCES
from parity.model import Comparison, Verdict
from parity.session import RunReport


@dataclass(frozen=True)
class DivergenceSeen:
    """A declared divergence as observed in this run: where it held, and by how much."""

    divergence: Divergence
    cases: int
    max_abs: float
    example: str


def verdict_counts(report: RunReport) -> dict[str, Counter[str]]:
    """Per comparison pair label (``mindspore vs torchvision``...), how many of each verdict."""
    counts: dict[str, Counter[str]] = {}
    for c in report.comparisons:
        counts.setdefault(pair_label(c), Counter())[c.verdict.value] += 1
    return counts


def pair_label(c: Comparison) -> str:
    expected = "reference" if c.expected.startswith("reference") else c.expected
    return f"{c.actual} vs {expected}"


def unexpected(report: RunReport) -> list[Comparison]:
    return [c for c in report.comparisons if c.verdict.unexpected]


def divergences_seen(report: RunReport) -> list[DivergenceSeen]:
    """Each declared divergence with the number of cases and the largest difference it explained."""
    seen = []
    for d in DIVERGENCES:
        hits = [
            c
            for c in report.comparisons
            if c.verdict is Verdict.EXPECTED_DIVERGENCE and c.divergence and d.name in c.divergence.split(", ")
        ]
        if hits:
            worst = max(hits, key=lambda c: c.metrics.max_abs if c.metrics else 0.0)
            seen.append(
                DivergenceSeen(d, len({c.case_id for c in hits}), worst.metrics.max_abs if worst.metrics else 0.0, worst.case_id)
            )
    return seen


def exit_code(report: RunReport) -> int:
    """0 when nothing unexpected happened, 1 otherwise (2 is reserved for usage errors)."""
    return 1 if unexpected(report) else 0


@dataclass(frozen=True)
class RobustnessRow:
    """How each runner reacted to one invalid input, and which reactions are dangerous."""

    case_id: str
    behaviours: dict[str, str]
    dangerous: tuple[str, ...]


def robustness_matrix(report: RunReport) -> list[RobustnessRow]:
    """Case x runner -> behaviour, flagging a crash, or silent output where another framework raises."""
    rows = []
    for case_id, behaviours in report.behaviours.items():
        frameworks = {r: b for r, b in behaviours.items() if r != "reference"}
        raises = [r for r, b in frameworks.items() if b.startswith("raises")]
        bad_output = {c.actual for c in report.comparisons if c.case_id == case_id and c.verdict is Verdict.MISMATCH}
        dangerous = tuple(
            r
            for r, b in frameworks.items()
            if b.startswith("crash") or (b.startswith("output") and r in bad_output and any(o != r for o in raises))
        )
        rows.append(RobustnessRow(case_id, behaviours, dangerous))
    return rows
