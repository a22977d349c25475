"""The commands whose shape every op shares, built from the op's own data: ``parity mapping``
(tables of torchvision's call against each other framework's) and ``parity translate`` (the exact
equivalent call, verified on the reference) and ``parity mutants`` (faults injected into a copy of
the reference, each to be caught by some case) and ``parity repro`` (one case as a standalone
script and a bug-report body).  An op's ``commands`` module names them in ``Op.commands``."""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parity.shells.cli_options import repro_options

if TYPE_CHECKING:
    from parity.engine.model import Case
    from parity.engine.mutation import Outcome
    from parity.engine.standalone import Written

#: One row of a mapping table: torchvision's argument or behaviour, the other framework's, a note.
Row = tuple[str, str, str]
#: A mapping table: its title (``torchvision.ops.nms -> mindspore.ops.NMSWithMask``) and its rows.
Section = tuple[str, Sequence[Row]]


def mapping_command(summary: str, sections: Callable[[], Sequence[Section]]) -> click.Command:
    """``parity mapping --op NAME``: every table, columns as wide as their widest entry."""

    def show() -> None:
        for n, (title, rows) in enumerate(sections()):
            click.echo(("\n" if n else "") + title)
            left = max((len(r[0]) for r in rows), default=0)
            right = max((len(r[1]) for r in rows), default=0)
            for source, target, note in rows:
                click.echo(f"  {source:<{left}} -> {target:<{right}} {note}")

    return click.Command("mapping", callback=show, help=summary)


def translate_command(summary: str, render: Callable[[], tuple[str, bool]]) -> click.Command:
    """``parity translate --op NAME``: the rendered translation; exit 1 when the check finds it not exact."""

    def show() -> None:
        text, exact = render()
        click.echo(text)
        sys.exit(0 if exact else 1)

    return click.Command("translate", callback=show, help=summary)


def mutants_command(op: str, default_suites: str, run: Callable[[list[Case]], Sequence[Outcome]]) -> click.Command:
    """``parity mutants --op NAME [--suite a,b]``: ``run`` (the op's mutants against the cases of the
    suites) as one table and score; exit 1 when a mutant survives."""

    def show(suite_spec: str) -> None:
        from parity import ops
        from parity.engine import mutation

        names = mutation.suite_names(suite_spec)
        outcomes = run([c for name in names for c in ops.get(op).cases(name)])
        sys.exit(mutation.report(list(outcomes), f"mutants of the {op} reference vs suites {', '.join(names)}"))

    suite = click.Option(["--suite", "suite_spec"], default=default_suites, show_default=True, help="Suites (comma-separated) whose cases must kill every mutant.")
    summary = f"Inject known faults into a copy of the {op} reference; every one must be caught by some case (exit 1 if one survives)."
    return click.Command("mutants", callback=show, params=[suite], help=summary)


def repro_command(run_fixtures: str, module: str) -> click.Command:
    """``parity repro --op NAME CASE_ID``: the op's standalone script and bug-report body for one
    case, after refusing (one line, exit 2) an unknown case or an unwritable ``--out`` before any work.
    ``module`` (imported when the command runs) has the op's ``find_case(case_id, suite, fixtures)``
    and ``write(case, out_dir, execute=, results_dir=)``; ``run_fixtures`` is the op's ``parity
    run`` call that replays the same fixture folders."""

    @click.command("repro")
    @repro_options(run_fixtures)
    def repro(case_id: str, suite: str, out_dir: Path, results_dir: Path | None, execute: bool, fixtures_dir: Path | None) -> None:
        """Write a standalone script (no parity import) and a bug-report body reproducing CASE_ID."""
        import importlib

        from parity.engine import standalone
        from parity.reporters.terminal import console

        standalone.check_folders(out_dir, results_dir)
        reproduce = importlib.import_module(module)
        case = reproduce.find_case(case_id, suite, fixtures_dir)
        written: Written = reproduce.write(case, out_dir, execute=execute, results_dir=results_dir)
        out = console()
        out.print(f"script: {written.script}\nreport: {written.report}", markup=False, highlight=False)
        if written.problem and execute:
            out.print(f"the script did not run here ({written.problem}); the report lacks versions and differences", markup=False)

    return repro
