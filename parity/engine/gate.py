"""The CI gate: a stored run compared to a committed baseline of verdicts.

A baseline records, for each case id and comparison pair (``mindspore vs reference``...), the
verdict a run gave and the divergences it named.  ``check`` fails on anything that got worse: a
comparison whose verdict is unexpected (MISMATCH, DIVERGENCE_CHANGED, ERROR, CRASH, TIMEOUT) and
was not that verdict in the baseline, an EXPECTED_DIVERGENCE now explained by other divergences
than the baseline's (the verdict is the same, the reason for it is not: a baseline update has to
accept that), or a baseline case or comparison that is gone.  Known failures already in the
baseline do not fail the gate; fixing them shows up as "improved".
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.engine import files
from parity.engine.errors import FixtureError, UsageError
from parity.engine.model import Verdict
from parity.engine.results import CaseRecord, RunMeta
from parity.engine.summary import pair_label

BASELINE_SCHEMA = 1
#: Lines printed per kind of change that does not fail the gate (failures are all printed).
INFO_LINES = 50


@dataclass(frozen=True)
class Entry:
    """One comparison of one case as the baseline remembers it."""

    verdict: Verdict
    divergence: str | None = None


@dataclass(frozen=True)
class Baseline:
    """Verdicts by case id, then by pair label (suite order), and the run they came from."""

    suite: str
    keyword: str | None
    runners: tuple[str, ...]
    cases: dict[str, dict[str, Entry]]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": BASELINE_SCHEMA,
            "suite": self.suite,
            "keyword": self.keyword,
            "runners": list(self.runners),
            "cases": {
                case: {pair: {"verdict": e.verdict.value, **({"divergence": e.divergence} if e.divergence else {})}
                       for pair, e in pairs.items()}
                for case, pairs in self.cases.items()
            },
        }


def from_records(meta: RunMeta, records: dict[str, CaseRecord], order: list[str] | None = None) -> Baseline:
    """A baseline of a stored run (cases in ``order`` when given, else as stored)."""
    ids = [i for i in order if i in records] if order is not None else list(records)
    cases = {i: {pair_label(c): Entry(c.verdict, c.divergence) for c in records[i].comparisons} for i in ids}
    return Baseline(meta.suite, meta.keyword, meta.runners, cases)


def write(path: Path, baseline: Baseline) -> None:
    """One line per case (suite order), so that a baseline change reads as a diff of the cases it touches."""
    doc = baseline.to_json()
    cases = doc.pop("cases")
    head = json.dumps(doc, indent=1)[: -len("\n}")]
    lines = [f" {json.dumps(case)}: {json.dumps(pairs)}" for case, pairs in cases.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    files.atomic_write(path, head + ',\n "cases": {\n' + ",\n".join(lines) + "\n }\n}\n")


#: A baseline is about 100 bytes per case; one larger than this was not written by parity.
BASELINE_LIMIT = 256 << 20


def read(path: Path) -> Baseline:
    files.refuse_link(path)
    if not path.is_file():
        raise FixtureError(f"baseline {path} does not exist; create it with: parity baseline update RESULTS_DIR --out {path}")
    try:
        d = json.loads(files.read_bytes(path, BASELINE_LIMIT, "baseline"))
        if d.get("schema") != BASELINE_SCHEMA:
            raise ValueError(f"schema {d.get('schema')!r}, expected {BASELINE_SCHEMA}")
        cases = {
            case: {pair: Entry(Verdict(e["verdict"]), e.get("divergence")) for pair, e in pairs.items()}
            for case, pairs in d["cases"].items()
        }
        return Baseline(d["suite"], d["keyword"], tuple(d["runners"]), cases)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise FixtureError(f"baseline {path} is corrupt ({exc}); regenerate it with parity baseline update") from None


@dataclass(frozen=True)
class Change:
    """One comparison whose standing differs from the baseline (``before``/``after`` None: absent)."""

    case_id: str
    pair: str
    before: Verdict | None
    after: Verdict | None
    message: str = ""
    before_divergence: str | None = None  # the divergences the baseline named for it
    after_divergence: str | None = None  # and those the run names


@dataclass
class GateResult:
    """What the gate found; it fails on ``regressions``, ``explanations`` or ``disappeared``."""

    compared: int = 0
    regressions: list[Change] = field(default_factory=list)  # unexpected now, and not that verdict before
    disappeared: list[Change] = field(default_factory=list)  # in the baseline, not in the run
    explanations: list[Change] = field(default_factory=list)  # EXPECTED_DIVERGENCE by other divergences than before
    improved: list[Change] = field(default_factory=list)  # unexpected before, not now
    new: list[Change] = field(default_factory=list)  # not in the baseline, and not unexpected
    changed: list[Change] = field(default_factory=list)  # other verdict changes (e.g. PASS -> EXPECTED_DIVERGENCE)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.regressions or self.explanations or self.disappeared)


def check(baseline: Baseline, meta: RunMeta, records: dict[str, CaseRecord], scope: set[str] | None = None) -> GateResult:
    """Compare a stored run to ``baseline``; ``scope`` limits the baseline to these case ids (a shard)."""
    result = GateResult()
    if (baseline.suite, baseline.keyword, baseline.runners) != (meta.suite, meta.keyword, meta.runners):
        result.notes.append(
            f"the baseline is of suite {baseline.suite!r} -k {baseline.keyword!r} runners {','.join(baseline.runners)}; "
            f"this run is of suite {meta.suite!r} -k {meta.keyword!r} runners {','.join(meta.runners)}"
        )
    expected = {c: p for c, p in baseline.cases.items() if scope is None or c in scope}
    for case_id, pairs in expected.items():
        record = records.get(case_id)
        if record is None:
            result.disappeared.append(Change(case_id, "", None, None, f"case is gone ({len(pairs)} comparisons in the baseline)"))
            continue
        present = {pair_label(c) for c in record.comparisons}
        for pair, entry in pairs.items():
            if pair not in present:
                result.disappeared.append(Change(case_id, pair, entry.verdict, None, "comparison is gone"))
    for case_id, record in records.items():
        before_pairs = expected.get(case_id, {})
        for c in record.comparisons:
            result.compared += 1
            pair, known = pair_label(c), before_pairs.get(pair_label(c))
            before = known.verdict if known else None
            change = Change(case_id, pair, before, c.verdict, c.message, known.divergence if known else None, c.divergence)
            if c.verdict.unexpected and c.verdict is not before:
                result.regressions.append(change)
            elif known is not None and before is c.verdict is Verdict.EXPECTED_DIVERGENCE and _names(known.divergence) != _names(c.divergence):
                result.explanations.append(change)
            elif before is not None and before.unexpected and not c.verdict.unexpected:
                result.improved.append(change)
            elif known is None:
                result.new.append(change)
            elif before is not c.verdict:
                result.changed.append(change)
    return result


def _names(divergence: str | None) -> frozenset[str]:
    """The divergences a comparison names (a ", "-joined list; its order carries no meaning)."""
    return frozenset(n for n in (divergence or "").split(", ") if n)


def suite_scope(meta: RunMeta) -> set[str] | None:
    """The case ids a shard holds (None for a whole run): only those are gated."""
    if meta.shard == (1, 1):
        return None
    return {c.id for c in meta.select(meta.all_cases())}


def report(result: GateResult, baseline_path: Path) -> None:
    """Print the gate's findings (worst first) through the one console."""
    from parity.reporters.terminal import console
    from parity.engine.text import terminal as escape

    out = console()
    for note in result.notes:
        out.print(f"[yellow]note[/]: {escape(note)}", soft_wrap=True)

    def line(style: str, tag: str, ch: Change) -> None:
        parts = [f"[{style}]{tag}[/]"]
        if ch.after:
            parts.append(ch.after.value)
        parts.append(escape(ch.case_id + (f" {ch.pair}" if ch.pair else "")))
        parts.append(f"(was {ch.before.value})" if ch.before else "(new)" if ch.after else "")
        text = " ".join(p for p in parts if p)
        out.print(text + (f": {escape(ch.message)}" if ch.message else ""), soft_wrap=True)

    for ch in result.regressions:
        line("bold red", "REGRESSION", ch)
    for ch in result.explanations:
        line("bold red", "EXPLANATION CHANGED", dataclasses.replace(
            ch, message=f"explained by {ch.after_divergence or 'nothing'}, the baseline by {ch.before_divergence or 'nothing'}"
        ))
    for ch in result.disappeared:
        line("bold red", "DISAPPEARED", ch)
    for style, tag, changes in (("green", "improved", result.improved), ("cyan", "changed", result.changed),
                                ("dim", "new", result.new)):
        for ch in changes[:INFO_LINES]:
            line(style, tag, ch)
        if len(changes) > INFO_LINES:
            out.print(f"[{style}]... and {len(changes) - INFO_LINES} more {tag}[/]")
    verdict = "[bold red]FAILED[/]" if result.failed else "[green]passed[/]"
    out.print(
        f"gate {verdict} against {baseline_path}: {result.compared} comparisons; {len(result.regressions)} regressions, "
        f"{len(result.explanations)} explained differently, {len(result.disappeared)} disappeared, {len(result.improved)} improved, {len(result.changed)} changed, "
        f"{len(result.new)} new",
        soft_wrap=True,
    )


def require_whole(meta: RunMeta, results_dir: Path) -> None:
    """A baseline is made from a whole run, not one shard."""
    if meta.shard != (1, 1):
        i, n = meta.shard
        raise UsageError(f"{results_dir} holds shard {i}/{n} only; merge the shards first (parity merge OUT SHARD_DIR...)")


def _change_json(ch: Change) -> dict[str, str | None]:
    return {"case": ch.case_id, "pair": ch.pair, "before": ch.before.value if ch.before else None,
            "after": ch.after.value if ch.after else None, "message": ch.message}


def to_json(result: GateResult, baseline_path: Path) -> dict[str, Any]:
    """``parity gate --format json``: every finding, machine-readable."""
    kinds = ("regressions", "explanations", "disappeared", "improved", "changed", "new")
    return {
        "baseline": str(baseline_path),
        "passed": not result.failed,
        "compared": result.compared,
        **{k: [_change_json(ch) for ch in getattr(result, k)] for k in kinds},
        "notes": list(result.notes),
    }


#: Findings listed in the Markdown verdict; a job summary is for the headline, the log has all.
MARKDOWN_LINES = 50


def markdown(result: GateResult, baseline_path: Path) -> str:
    """The gate's verdict as Markdown (for ``$GITHUB_STEP_SUMMARY``); data escaped by parity.engine.text."""
    from parity.engine.text import markdown as md
    from parity.engine.text import markdown_code as code

    verdict = "FAILED" if result.failed else "passed"
    lines = [
        f"## parity gate {verdict}",
        "",
        f"Against {code(str(baseline_path))}: {result.compared} comparisons; {len(result.regressions)} regressions, "
        f"{len(result.explanations)} explained differently, {len(result.disappeared)} disappeared, "
        f"{len(result.improved)} improved, {len(result.changed)} changed, {len(result.new)} new.",
        "",
    ]
    failing = [("REGRESSION", ch) for ch in result.regressions] + [("EXPLANATION CHANGED", ch) for ch in result.explanations] \
        + [("DISAPPEARED", ch) for ch in result.disappeared]
    for tag, ch in failing[:MARKDOWN_LINES]:
        was = f" (was {ch.before.value})" if ch.before else ""
        now = f" {ch.after.value}" if ch.after else ""
        pair = f" {md(ch.pair)}" if ch.pair else ""
        lines.append(f"- **{tag}**{now} {code(ch.case_id)}{pair}{was}" + (f": {md(ch.message[:300])}" if ch.message else ""))
    if len(failing) > MARKDOWN_LINES:
        lines.append(f"- ... and {len(failing) - MARKDOWN_LINES} more (see the job log)")
    for note in result.notes:
        lines.append(f"- note: {md(note)}")
    return "\n".join(lines) + "\n"
