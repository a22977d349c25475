"""Orchestration shared by the CLI (and any other shell): cases -> workers -> verdicts -> files.

Results are appended to ``results.jsonl`` as each case finishes (parity.engine.results), so an
interrupted run keeps everything it computed and ``--resume`` continues it.
"""
from __future__ import annotations

import hashlib
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from parity import ops
from parity.engine import results
from parity.engine.behaviour import describe_behaviour
from parity.engine.errors import UsageError
from parity.engine.memory import prefer_small_pages
from parity.engine.model import Case, Comparison, RunResult, Verdict
from parity.engine.op import REFERENCE, Op
from parity.engine.results import RunMeta
from parity.engine.pool import Worker
from parity.engine.profile import Profile


@dataclass
class RunReport:
    """Everything a reporter needs about one run."""

    suite: str
    runners: tuple[str, ...]
    versions: dict[str, str]
    machine: str
    comparisons: list[Comparison] = field(default_factory=list)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)  # case id -> runner -> status
    behaviours: dict[str, dict[str, str]] = field(default_factory=dict)  # robustness cases only
    determinism: dict[str, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)  # --repeat
    cases: int = 0
    wall_seconds: float = 0.0
    startup_seconds: float = 0.0
    reused: int = 0  # cases taken from an earlier, interrupted run (--resume)
    shrunk: list[str] = field(default_factory=list)  # minimal failing cases saved as regressions
    notes: list[str] = field(default_factory=list)  # how the run was carried out (crash containment)
    op: str = ops.DEFAULT_OP  # the registered op the cases call

    def add(self, record: results.CaseRecord) -> None:
        """Fold one finished (or stored) case into the report."""
        self.comparisons.extend(record.comparisons)
        self.statuses[record.case_id] = record.statuses
        if record.behaviours:
            self.behaviours[record.case_id] = record.behaviours
        if record.determinism:
            self.determinism[record.case_id] = record.determinism
        self.cases += 1


def parse_runners(spec: str, op: str = ops.DEFAULT_OP) -> tuple[str, ...]:
    """``torchvision,mindspore`` -> runner names; the reference always runs (it is the oracle)."""
    the_op = ops.get(op)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in the_op.runners]
    if unknown:
        raise UsageError(f"unknown runner {unknown[0]!r} for op {op}; choose from: {', '.join(the_op.runners)}")
    frameworks = tuple(n for n in the_op.frameworks if n in names)
    if not frameworks:
        raise UsageError(f"--runners needs at least one framework ({', '.join(the_op.frameworks)})")
    return (*frameworks, REFERENCE)


def arrays_path(out_dir: Path, case_id: str) -> Path:
    """Where a case's outputs are stored (named by a hash: case ids are not file names)."""
    return out_dir / "arrays" / f"{hashlib.sha256(case_id.encode()).hexdigest()[:20]}.npz"


def parity_failures(report: RunReport) -> list[Comparison]:
    """The comparisons that record parity's own failure on a case (its reference could not evaluate it)."""
    return [c for c in report.comparisons if c.actual == REFERENCE]


def _start(op: Op, runners: tuple[str, ...], out_dir: Path, timeout: float, pythons: dict[str, str]) -> dict[str, Worker]:
    """Start every worker, then wait for all (imports overlap)."""
    workers = {
        r: Worker(r, out_dir / "logs" / f"{r}.log", python=pythons.get(r, sys.executable), timeout=timeout, module=op.runners[r])
        for r in runners
    }
    for w in workers.values():
        w.start()
    for w in workers.values():
        w.handshake()
    return workers


def _send_case(
    op: Op, case: Case, workers: dict[str, Worker], frameworks: tuple[str, ...], meta: RunMeta, timeout: float
) -> dict[str, dict[str, Any]]:
    """Queue the case on every worker (they compute side by side); returns the headers sent."""
    extra = {"case_id": case.id, "repeat": meta.repeat, "deterministic": meta.deterministic}
    headers = {}
    for r, w in workers.items():
        fields, arrays = op.request(case, r, frameworks, meta.grad)
        headers[r] = {**fields, **extra}
        if r == REFERENCE:
            headers[r]["repeat"] = 1  # the oracle's determinism is not under test
        deadline = op.reference_timeout(case, headers[r], timeout, meta.grad) if r == REFERENCE else timeout
        w.send(headers[r], arrays, deadline, risky=case.invalid and r != REFERENCE)
    return headers


def _collect_case(op: Op, case: Case, workers: dict[str, Worker], headers: dict[str, dict[str, Any]]) -> tuple[dict[str, RunResult], RunResult]:
    """Every worker's result for ``case`` (the oldest case in flight)."""
    results = {r: w.receive(case.id) for r, w in workers.items()}
    return results, op.name_reference(results.pop(REFERENCE), headers[REFERENCE])


def _run_case(
    op: Op, case: Case, workers: dict[str, Worker], frameworks: tuple[str, ...], meta: RunMeta, timeout: float
) -> tuple[dict[str, RunResult], RunResult]:
    return _collect_case(op, case, workers, _send_case(op, case, workers, frameworks, meta, timeout))


def _save_arrays(out_dir: Path, arrays: dict[str, np.ndarray], case_id: str) -> None:
    path = arrays_path(out_dir, case_id)
    path.parent.mkdir(exist_ok=True)
    np.savez(path, allow_pickle=False, **arrays)


def _shrink_failures(
    op: Op,
    cases: list[Case],
    report: RunReport,
    workers: dict[str, Worker],
    frameworks: tuple[str, ...],
    meta: RunMeta,
    folder: Path,
    timeout: float,
) -> list[str]:
    """Shrink each case with an unexpected framework verdict; returns the ids saved."""
    failing = {(c.case_id, c.actual, c.expected, c.verdict) for c in report.comparisons if c.verdict.unexpected}
    saved = []
    for case in cases:
        keys = {(a, e, v) for cid, a, e, v in failing if cid == case.id}
        if not keys:
            continue

        def still_fails(candidate: Case, keys: set[tuple[str, str, Verdict]] = keys) -> bool:
            outs, ref = _run_case(op, candidate, workers, frameworks, meta, timeout)
            return any((c.actual, c.expected, c.verdict) in keys for c in op.judge(candidate, outs, ref))

        small = op.shrink(case, still_fails)
        if op.save_regression is None:
            continue
        op.save_regression(small, folder)
        saved.append(small.id)
    return saved


def run(
    cases: Iterable[Case],
    meta: RunMeta,
    out_dir: Path,
    *,
    timeout: float = 60.0,
    pythons: dict[str, str] | None = None,
    resume: bool = False,
    regressions: Path | None = None,
    on_case: Callable[[Case, list[Comparison]], None] | None = None,
    profile: Profile | None = None,
) -> RunReport:
    """Run every case through every runner and judge it; results stream to ``out_dir``.

    With ``resume``, cases already in ``out_dir`` are reused, not recomputed, and the report is
    the same as an uninterrupted run's.  With ``regressions``, every case with an unexpected
    framework verdict is shrunk to a minimal failing case, saved there as a fixture.  With
    ``profile``, the driver's phases and each worker's seconds are added up there (parity.engine.profile).
    """
    prof = profile if profile is not None else Profile()
    prefer_small_pages()  # the driver decodes and judges result-sized arrays (parity.engine.memory)
    op = ops.get(meta.op)
    cases = list(cases)
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    done = results.read_records(out_dir, repair=True) if resume else {}  # the only writer of a cut-off line
    if not resume:
        (out_dir / "results.jsonl").unlink(missing_ok=True)
    frameworks = tuple(r for r in meta.runners if r != REFERENCE)
    todo = [c for c in cases if c.id not in done]
    # A resumed run with nothing left to compute starts no worker: the stored run says where it ran.
    workers = _start(op, meta.runners, out_dir, timeout, pythons or {}) if todo or not resume else {}
    try:
        if workers:
            versions = {k: v for w in workers.values() for k, v in (w.versions or {}).items()}
            machine = f"{platform.machine()} {platform.system()}, python {platform.python_version()}"
            results.write_meta(out_dir, meta, versions, machine)
        else:
            versions, machine = results.read_environment(out_dir)
        report = RunReport(meta.suite, meta.runners, versions, machine, reused=len(done), op=meta.op)
        report.startup_seconds = time.perf_counter() - started
        with open(out_dir / "results.jsonl", "a") as log:
            # Pipelined: the next case is queued before this one is judged, so the workers compute
            # while the driver compares and writes.
            sent = {}
            if todo:
                with prof.timed("driver: send"):
                    sent[todo[0].id] = _send_case(op, todo[0], workers, frameworks, meta, timeout)
            following = dict(zip((c.id for c in todo), todo[1:]))
            for case in cases:
                record = done.get(case.id)
                if record is None:
                    nxt = following.get(case.id)
                    if nxt is not None:
                        with prof.timed("driver: send"):
                            sent[nxt.id] = _send_case(op, nxt, workers, frameworks, meta, timeout)
                    with prof.timed("driver: wait for workers, receive"):
                        outs, ref = _collect_case(op, case, workers, sent.pop(case.id))
                    for r, res in {**outs, REFERENCE: ref}.items():
                        prof.add(f"worker: {r}", res.seconds)
                    with prof.timed("driver: judge"):
                        comparisons = op.judge(case, outs, ref)
                    with prof.timed("driver: write arrays"):
                        _save_arrays(out_dir, op.stored(case, outs, ref, frameworks), case.id)
                    everyone = {**outs, REFERENCE: ref}
                    statuses = {r: res.status.value for r, res in everyone.items()}
                    behaviours = {r: describe_behaviour(res) for r, res in everyone.items()} if case.invalid else {}
                    determinism = {r: res.determinism for r, res in outs.items() if res.determinism}
                    record = results.CaseRecord(case.id, statuses, tuple(comparisons), behaviours, determinism)
                    with prof.timed("driver: write results"):
                        results.append(log, record)
                    prof.cases += 1
                report.add(record)
                for w in workers.values():
                    report.notes.extend(w.notices)
                    w.notices.clear()
                if on_case:
                    with prof.timed("driver: progress"):
                        on_case(case, list(record.comparisons))
        if regressions is not None and any(c.verdict.unexpected for c in report.comparisons):
            if not workers:
                workers = _start(op, meta.runners, out_dir, timeout, pythons or {})
            report.shrunk = _shrink_failures(op, cases, report, workers, frameworks, meta, regressions, timeout)
    finally:
        for w in workers.values():
            w.stop()
    report.wall_seconds = time.perf_counter() - started
    return report
