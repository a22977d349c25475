"""The one place that styles terminal output (rich); respects NO_COLOR.

Text from data (case ids, messages, runner names) goes through parity.engine.text.terminal: no rich
markup and no control character (ESC sequences, newlines) reaches the terminal from it, and a
result stays on one log line.
"""
from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from parity import ops
from parity.engine import summary
from parity.engine.model import Case, Comparison
from parity.engine.session import RunReport
from parity.engine.text import terminal as safe

_STYLE = {
    "PASS": "green",
    "EXPECTED_DIVERGENCE": "cyan",
    "UNDECIDABLE": "yellow",
    "UNSUPPORTED": "dim",
    "MISMATCH": "bold red",
    "DIVERGENCE_CHANGED": "bold red",
    "ERROR": "red",
    "CRASH": "bold magenta",
    "TIMEOUT": "magenta",
}


def console(stderr: bool = False) -> Console:
    """The only Console: no colour under NO_COLOR, and wide lines when writing to a file or CI log."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, no_color=bool(os.environ.get("NO_COLOR")), highlight=False, width=width)


@contextmanager
def progress(total: int) -> Iterator[Callable[[Case, list[Comparison]], None]]:
    """A progress bar; yields the per-case callback for parity.engine.session.run."""
    bar = Progress(
        TextColumn("[bold]parity run"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"), console=console(stderr=True), transient=True,
    )
    with bar:
        task = bar.add_task("cases", total=total, last="")

        def advance(case: Case, comparisons: list[Comparison]) -> None:
            worst = next((c.verdict.value for c in comparisons if c.verdict.unexpected), "")
            bar.update(task, advance=1, last=worst)

        yield advance


def short_behaviour(behaviour: str) -> str:
    """A behaviour in a few words, for a table cell that must fit 80 columns: the kind, plus the
    exception's class or the signal (``raises: RuntimeError: ...`` -> ``raises RuntimeError``)."""
    kind, _, detail = behaviour.partition(": ")
    signal = re.search(r"\bSIG[A-Z]+\b", detail)
    if signal:
        return f"{kind} {signal.group(0)}"
    error = re.match(r"([A-Z][\w.]*): ", detail)
    return f"{kind} {error.group(1).rsplit('.', 1)[-1]}" if error else kind


#: Robustness rows the terminal shows one per case; past it, one per kind of reaction.
ROBUSTNESS_ROWS = 40


def print_robustness(out: Console, matrix: list[summary.RobustnessRow], runners: list[str]) -> None:
    """Case x runner: how each reacted to invalid input, in words that fit a narrow terminal.

    Past ROBUSTNESS_ROWS cases (a 10000-case random suite has about 2000), one row per kind of
    reaction, with its case count and first case: the reports keep a row per case.
    """
    rows = [(row.case_id, tuple(("! " if r in row.dangerous else "") + short_behaviour(row.behaviours.get(r, "-")) for r in runners))
            for row in matrix]
    kinds: dict[tuple[str, ...], list[str]] = {}
    for case_id, cells in rows:
        kinds.setdefault(cells, []).append(case_id)
    grouped = len(matrix) > ROBUSTNESS_ROWS
    title = "robustness: how each runner treats invalid input (! = dangerous; messages in the reports)"
    if grouped:
        title += f"; {len(matrix)} cases in {len(kinds)} kinds of reaction, each case in the reports"
    grid = Table(title=title)
    if grouped:
        grid.add_column("cases", justify="right")
    grid.add_column("first case" if grouped else "case", overflow="fold")
    for r in runners:
        grid.add_column(safe(r), overflow="fold")
    if grouped:
        for cells, ids in sorted(kinds.items(), key=lambda kind: -len(kind[1])):
            grid.add_row(str(len(ids)), safe(ids[0]), *(safe(c) for c in cells))
    else:
        for case_id, cells in rows:
            grid.add_row(safe(case_id), *(safe(c) for c in cells))
    out.print(grid)


def print_summary(report: RunReport, written: list[str]) -> None:
    out = console()
    counts = summary.verdict_counts(report)
    verdicts = [v for v in _STYLE if any(v in c for c in counts.values())]
    table = Table(title=f"{ops.get(report.op).title} parity, suite {safe(repr(report.suite))}")
    table.add_column("pair")
    for v in verdicts:
        table.add_column(v, justify="right", style=_STYLE[v])
    for pair, tally in counts.items():
        table.add_row(safe(pair), *(str(tally.get(v, 0)) for v in verdicts))
    out.print(table)
    matrix = summary.robustness_matrix(report)
    if matrix:
        print_robustness(out, matrix, list(report.runners))
    for row in summary.determinism(report):
        what = "forward" if row.output == "out" else "backward"
        out.print(
            f"determinism {safe(row.runner)} {what}: {row.nondeterministic} of {row.cases} cases gave more than one bit "
            f"pattern (at most {row.max_distinct}; largest spread {row.max_spread:.3g})"
        )
    for s in summary.divergences_seen(report):
        kind = "documented" if s.divergence.documented else "found by measurement"
        out.print(f"[cyan]divergence[/] {s.divergence.name} ({kind}): {s.cases} cases, up to {s.max_abs:.3g}")
    undecidable = summary.undecidable(report)
    if undecidable:
        worst = max(undecidable, key=lambda c: c.undecided.allowance / max(c.undecided.judged, 1e-300) if c.undecided else 0.0)
        out.print(
            f"[yellow]undecidable[/]: {len(undecidable)} comparisons agree only within an allowance that is not small "
            f"against what they judge (the dtype cannot decide; not counted as unexpected). Worst: {safe(worst.case_id)} "
            f"{safe(summary.pair_label(worst))}: {safe(worst.undecided.describe() if worst.undecided else worst.message)}",
            soft_wrap=True,
        )
    bad = summary.unexpected(report)
    for c in bad[:20]:
        out.print(
            f"[{_STYLE[c.verdict.value]}]{c.verdict.value}[/] {safe(c.case_id)} {safe(summary.pair_label(c))}: {safe(c.message)}",
            soft_wrap=True,
        )
    if len(bad) > 20:
        out.print(f"... and {len(bad) - 20} more unexpected results (see the reports)")
    rate = report.cases / report.wall_seconds if report.wall_seconds else 0.0
    from parity.reporters.brief import headline

    out.print(f"[bold]{safe(headline(report))}[/]", soft_wrap=True)
    for case_id in report.shrunk:
        out.print(f"shrunk a failing case to a minimal one, saved as regression fixture: {safe(case_id)}", soft_wrap=True)
    if report.reused:
        out.print(f"resumed: {report.reused} cases reused from the earlier run, {report.cases - report.reused} computed")
    out.print(
        f"{report.cases} cases in {report.wall_seconds:.1f} s wall ({rate:.1f} cases/s; worker start-up "
        f"{report.startup_seconds:.1f} s). Unexpected: {len(bad)}. Reports: {safe(', '.join(written))}"
    )


def error(message: str) -> None:
    console(stderr=True).print(f"[bold red]error:[/] {safe(message)}", soft_wrap=True)
