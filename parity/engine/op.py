"""What the engine needs to know about an op: the contract every op folder (parity.ops) fulfils.

The engine (session, pool, worker, results, gate, merge, reporters, CLI) works on ``Case`` and
``RunResult`` objects and calls an op only through an ``Op``: it never imports an op's or a
framework's module.  An op folder builds one ``Op`` from its own modules (signature, framework
calls, float64 reference, judge, suites, divergences) and the registry (parity.ops) finds it by
name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from parity.engine.model import Case, Comparison, RunResult

#: The runner every op provides: its float64 reference, the oracle every framework is judged against.
REFERENCE = "reference"


def _no_timeout_scaling(case: Case, header: dict[str, Any], timeout: float, grad: bool) -> float:
    return timeout


def _unchanged(result: RunResult, header: dict[str, Any]) -> RunResult:
    return result


def _none() -> tuple[()]:
    return ()


def _no_notes(comparison: Comparison, divergence: str) -> list[str]:
    return []


def _no_shrinking(case: Case, fails: Callable[[Case], bool]) -> Case:
    return case


@dataclass(frozen=True)
class Op:
    """One op as the engine sees it.

    ``runners`` maps each runner name (every framework that calls this op, and ``reference``) to
    the module a worker imports for it; the module exposes ``versions()`` and
    ``run(header, arrays)``.  ``frameworks`` lists the judged runners in report order, the first
    being the source framework users port from.
    """

    name: str
    title: str  # how reports name the op ("RoIAlign")
    summary: str
    runners: Mapping[str, str]
    frameworks: tuple[str, ...]
    default_runners: tuple[str, ...]
    #: suite name -> ``cases(keyword, budget, seed)``; ``budget``/``seed`` only matter for random suites
    suites: Mapping[str, Callable[[str | None, int | None, int | None], list[Case]]]
    #: ``request(case, runner, frameworks, grad)`` -> (op-specific header fields, input arrays)
    request: Callable[[Case, str, tuple[str, ...], bool], tuple[dict[str, Any], dict[str, np.ndarray]]]
    #: ``judge(case, framework results, reference result)`` -> every comparison of the case
    judge: Callable[[Case, dict[str, RunResult], RunResult], list[Comparison]]
    #: ``stored(case, framework results, reference result, frameworks)`` -> arrays kept in arrays/
    stored: Callable[[Case, dict[str, RunResult], RunResult, tuple[str, ...]], dict[str, np.ndarray]]
    #: ``calls(case, runners)`` -> runner -> the call as its user writes it (reports)
    calls: Callable[[Case, tuple[str, ...]], dict[str, str]]
    grad_suites: frozenset[str] = frozenset()
    reference_timeout: Callable[[Case, dict[str, Any], float, bool], float] = _no_timeout_scaling
    #: the reference's reply with its outputs renamed from the wire names to the judge's keys
    name_reference: Callable[[RunResult, dict[str, Any]], RunResult] = _unchanged
    shrink: Callable[[Case, Callable[[Case], bool]], Case] = _no_shrinking
    #: ``save_regression(case, folder)``: keep a shrunk case as a fixture (None: the op has no fixtures)
    save_regression: Callable[[Case, Path], None] | None = None
    #: ``load_fixtures(folder, max_case_bytes, keyword)``: replay a fixture folder (None: not supported)
    load_fixtures: Callable[[Path, int, str | None], list[Case]] | None = None
    #: ``case_bytes(case, frameworks, grad)``: memory a case needs (parity.engine.limits; None: the generic estimate)
    case_bytes: Callable[[Case, tuple[str, ...], bool], int] | None = None
    #: the declared divergences, each with ``name``, ``documented``, ``explanation``, ``evidence``
    divergences: Callable[[], Sequence[Any]] = _none
    #: what came back where a divergence leaves output unspecified (a few words per comparison)
    held_notes: Callable[[Comparison, str], list[str]] = _no_notes
    #: case-filter attributes beyond the generic ones (parity.engine.case_filter): name -> getter
    filter_attributes: Mapping[str, Callable[[Case], Any]] = field(default_factory=dict)
    #: the op's own commands (``parity translate --op NAME ...``): name -> "module:attribute" of a click command
    commands: Mapping[str, str] = field(default_factory=dict)

    def explanation(self, divergence: str) -> str:
        return next((d.explanation for d in self.divergences() if d.name == divergence), "not a declared divergence")

    def cases(self, suite: str, keyword: str | None = None, budget: int | None = None, seed: int | None = None) -> list[Case]:
        """A suite's cases, filtered by ``keyword`` (parity.engine.case_filter)."""
        from parity.engine.errors import UsageError

        if suite not in self.suites:
            raise UsageError(f"unknown suite {suite!r} for op {self.name}; choose one of: {', '.join(self.suites)}")
        return self.suites[suite](keyword, budget, seed)
