"""box_iou's own commands: ``parity mapping --op box_iou`` and ``parity translate --op box_iou``."""
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
