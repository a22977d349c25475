"""box_iou's own commands: ``parity mapping|translate|mutants|repro|bench --op box_iou``."""
from __future__ import annotations

from typing import TYPE_CHECKING

import click

from parity.ops.box_iou.bench import DEFAULT_WORKLOADS
from parity.shells.op_commands import Section, mapping_command, mutants_command, repro_command, translate_command

if TYPE_CHECKING:
    from parity.engine.model import Case
    from parity.engine.mutation import Outcome


def _tables() -> tuple[Section, ...]:
    from parity.ops.box_iou.signature import TABLE

    return (("torchvision.ops.box_iou -> mindspore.ops.iou", TABLE),)


def _render() -> tuple[str, bool]:
    from parity.ops.box_iou.translate import render

    return render()


mapping = mapping_command("Print the box_iou mapping: torchvision.ops.box_iou -> mindspore.ops.iou.", _tables)
translate = translate_command("Print the exact MindSpore call for torchvision's box_iou, verified on the reference (exit 1 if not exact).", _render)


def _mutants(cases: list[Case]) -> list[Outcome]:
    from parity.ops.box_iou.mutants import run

    return run(cases)


mutants = mutants_command("box_iou", "standard,edge,invalid", _mutants)


repro = repro_command("parity run --op box_iou --fixtures", "parity.ops.box_iou.repro")


@click.command()
@click.option("--workloads", default=DEFAULT_WORKLOADS, show_default=True, help="Comma-separated: B0 8x6 boxes, B1 1000x1000, B2 5000x5000, B3 2000 anchors x 100 gt.")
@click.option("--repeat", default=5, type=click.IntRange(min=1), show_default=True, help="Timed calls a row is the median of, after one warm-up call: an implementation goes on until its last N calls lie within 1.3x of one another (at most 10N calls; fewer once its calls add up to 2 s, 30 s with --full).")
@click.option("--full", is_flag=True, help="Give every implementation up to 30 s of timed calls instead of 2 s.")
@click.option("--threads", default=1, type=click.IntRange(min=1), show_default=True, help="Threads for every implementation (each runs in its own worker).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
def bench(workloads: str, repeat: int, full: bool, threads: int, as_json: bool) -> None:
    """Time torchvision (float32, float64), MindSpore float32 and the float64 reference (ratios against torchvision float32)."""
    import json
    import tempfile

    from parity.engine.bench import FULL_BUDGET_S, QUICK_BUDGET_S
    from parity.ops.box_iou import bench as b

    chosen = b.parse_workloads(workloads)
    with tempfile.TemporaryDirectory() as logs:
        rows, versions = b.run(chosen, repeat, threads, logs, say=lambda line: click.echo(line, err=True),
                               budget_s=FULL_BUDGET_S if full else QUICK_BUDGET_S)
    if as_json:
        click.echo(json.dumps([b.row_json(r) for r in rows], indent=1))
    else:
        b.print_table(rows, versions, threads)
