"""box_iou's own commands: ``parity mapping|translate|mutants --op box_iou``."""
from __future__ import annotations

import sys

import click


@click.command()
def mapping() -> None:
    """Print the box_iou mapping: torchvision.ops.box_iou -> mindspore.ops.iou."""
    from parity.ops.box_iou.signature import TABLE

    click.echo("torchvision.ops.box_iou -> mindspore.ops.iou")
    for tv, ms, note in TABLE:
        click.echo(f"  {tv:<28} -> {ms:<40} {note}")


@click.command()
def translate() -> None:
    """Print the exact MindSpore call for torchvision's box_iou, verified on the reference (exit 1 if not exact)."""
    from parity.ops.box_iou.translate import render

    text, exact = render()
    click.echo(text)
    sys.exit(0 if exact else 1)


@click.command()
@click.option("--suite", "suite_names", default="standard,edge,invalid", show_default=True, help="Suites (comma-separated) whose cases must kill every mutant.")
def mutants(suite_names: str) -> None:
    """Inject known faults into a copy of the box_iou reference; every one must be caught by some case."""
    from rich.markup import escape
    from rich.table import Table

    from parity import ops
    from parity.ops.box_iou import mutants as mutation
    from parity.reporters.terminal import console

    op = ops.get("box_iou")
    names = [s.strip() for s in suite_names.split(",") if s.strip()]
    outcomes = mutation.run([c for name in names for c in op.cases(name)])
    table = Table(title=f"mutants of the box_iou reference vs suites {', '.join(names)}")
    for col in ("mutant", "fault", "first killing case", "how"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        table.add_row(o.mutant.name, o.mutant.fault, escape(o.killed_by or "SURVIVED"), escape(o.how))
    out = console()
    out.print(table)
    killed = sum(o.killed_by is not None for o in outcomes)
    out.print(f"mutation score: {killed}/{len(outcomes)} ({100 * killed / len(outcomes):.0f}%)")
    sys.exit(0 if killed == len(outcomes) else 1)
