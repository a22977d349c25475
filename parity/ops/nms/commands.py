"""nms's own commands: ``parity mapping --op nms`` and ``parity translate --op nms``."""
from __future__ import annotations

import sys

import click


@click.command()
def mapping() -> None:
    """Print the nms mapping: torchvision.ops.nms / batched_nms -> mindspore.ops.NMSWithMask."""
    from parity.ops.nms.signature import TABLE

    click.echo("torchvision.ops.nms -> mindspore.ops.NMSWithMask")
    for tv, ms, note in TABLE:
        click.echo(f"  {tv:<48} -> {ms:<48} {note}")


@click.command()
def translate() -> None:
    """Print the exact MindSpore code for torchvision's nms and batched_nms, verified on the reference (exit 1 if not exact)."""
    from parity.ops.nms.translate import render

    text, exact = render()
    click.echo(text)
    sys.exit(0 if exact else 1)


@click.command()
@click.option("--suite", "suite_names", multiple=True, default=("seed", "standard", "edge"), show_default=True, help="suites whose cases must kill the mutants")
def mutants(suite_names: tuple[str, ...]) -> None:
    """Inject known faults into a copy of the reference NMS: some case must catch each (exit 1 if one survives)."""
    from parity.ops.nms import OP as op
    from parity.ops.nms.mutants import MUTANTS, first_kill

    cases = [c for s in suite_names for c in op.cases(s) if len(c.scores) <= 1000]
    survivors = 0
    for m in MUTANTS:
        killer = first_kill(m, cases)
        survivors += killer is None
        click.echo(f"  {m.name:<28} {'killed by ' + killer if killer else 'SURVIVED'}   ({m.fault})")
    click.echo(f"{len(MUTANTS) - survivors} of {len(MUTANTS)} mutants killed by {len(cases)} cases of {', '.join(suite_names)}")
    sys.exit(1 if survivors else 0)
