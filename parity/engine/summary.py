"""Aggregates of a run that every reporter shows: verdict counts, findings, divergence magnitudes."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from typing import Any

from parity import ops
from parity.engine import pairs
from parity.engine.model import Comparison, Verdict
from parity.engine.op import REFERENCE
from parity.engine.session import RunReport


#: Examples of what came back in unspecified output, per divergence.
HELD_SHOWN = 4


@dataclass(frozen=True)
class DivergenceSeen:
    """A declared divergence as observed in this run: where it held, and by how much."""

    divergence: Any  # the op's declared divergence (name, documented, explanation, evidence)
    cases: int
    max_abs: float
    example: str
    held: tuple[str, ...] = ()  # "CASE: what came back" where it leaves output unspecified (a few, distinct)


def verdict_counts(report: RunReport) -> dict[str, Counter[str]]:
    """Per comparison pair label (``mindspore vs torchvision``...), how many of each verdict."""
    counts: dict[str, Counter[str]] = {}
    for c in report.comparisons:
        counts.setdefault(pair_label(c), Counter())[c.verdict.value] += 1
    return counts


def pair_label(c: Comparison) -> str:
    return pairs.label(c.actual, REFERENCE if c.expected.startswith(REFERENCE) else c.expected)


def unexpected(report: RunReport) -> list[Comparison]:
    return [c for c in report.comparisons if c.verdict.unexpected]


def undecidable(report: RunReport) -> list[Comparison]:
    """Comparisons the dtype cannot decide: expected, but every report shows them with their figures."""
    return [c for c in report.comparisons if c.verdict is Verdict.UNDECIDABLE]


def divergences_seen(report: RunReport) -> list[DivergenceSeen]:
    """Each declared divergence with the number of cases and the largest difference it explained,
    measured over the elements it covers (``Comparison.explained``, measured by the op's judge): a
    comparison it explains may differ elsewhere for other reasons, which are not its size."""
    seen = []
    op = ops.get(report.op)
    explained: dict[str, list[Comparison]] = {}  # one pass over the comparisons, whatever the catalogue's size
    for c in report.comparisons:
        if c.verdict is Verdict.EXPECTED_DIVERGENCE and c.divergence:
            for name in c.divergence.split(", "):
                explained.setdefault(name, []).append(c)
    for d in op.divergences():
        hits = explained.get(d.name, [])
        if hits:
            sizes = [(dict(c.explained).get(d.name, 0.0), c.case_id) for c in hits]
            worst = max(sizes, key=lambda item: item[0])
            held = dict.fromkeys(f"{c.case_id}: {note}" for c in hits for note in op.held_notes(c, d.name))
            seen.append(DivergenceSeen(d, len({c.case_id for c in hits}), worst[0], worst[1], tuple(held)[:HELD_SHOWN]))
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
    """Case x runner -> behaviour, flagging a crash, or silent garbage where another framework raises.

    Output is garbage when the reference rejects the input as undefined, or when it is not what
    the reference computes (declared or not: declaring a danger does not make it safe).
    """
    rows = []
    passing: dict[str, set[str]] = {}  # case -> runners that PASS against the reference, in one pass
    for c in report.comparisons:
        if c.verdict is Verdict.PASS and c.expected.startswith("reference") and c.case_id in report.behaviours:
            passing.setdefault(c.case_id, set()).add(c.actual)
    for case_id, behaviours in report.behaviours.items():
        frameworks = {r: b for r, b in behaviours.items() if r != "reference"}
        raises = [r for r, b in frameworks.items() if b.startswith("raises")]
        undefined = behaviours.get("reference", "").startswith("raises")
        passed = passing.get(case_id, set())
        dangerous = tuple(
            r
            for r, b in frameworks.items()
            if b.startswith("crash")
            or (b.startswith("output") and (undefined or r not in passed) and any(o != r for o in raises))
        )
        rows.append(RobustnessRow(case_id, behaviours, dangerous))
    return rows


@dataclass(frozen=True)
class DeterminismRow:
    """Repeat runs of one runner's output (forward ``out`` or backward ``grad``) over a run."""

    runner: str
    output: str
    cases: int
    nondeterministic: int
    max_distinct: int
    max_spread: float
    example: str


def determinism(report: RunReport) -> list[DeterminismRow]:
    """Per runner and output: how many cases gave more than one bit pattern under --repeat."""
    rows: dict[tuple[str, str], list[tuple[str, dict[str, float]]]] = {}
    for case_id, runners in report.determinism.items():
        for runner, outputs in runners.items():
            for output, figures in outputs.items():
                rows.setdefault((runner, output), []).append((case_id, figures))
    result = []
    for (runner, output), items in rows.items():
        varying = [(cid, f) for cid, f in items if f["distinct"] > 1]
        worst = max(varying, key=lambda item: item[1]["spread"], default=("", {"distinct": 1, "spread": 0.0}))
        result.append(
            DeterminismRow(
                runner,
                output,
                len(items),
                len(varying),
                int(max(f["distinct"] for _, f in items)),
                float(worst[1]["spread"]),
                worst[0],
            )
        )
    return result
