"""nms's own commands: ``parity mapping|translate|mutants --op nms``."""
from __future__ import annotations

import sys

import click

from parity.shells.op_commands import Section, mapping_command, translate_command


def _tables() -> tuple[Section, ...]:
    from parity.ops.nms.signature import TABLES

    return TABLES


def _render() -> tuple[str, bool]:
    from parity.ops.nms.translate import render

    return render()


mapping = mapping_command("Print the nms mapping: torchvision.ops.nms / batched_nms -> MindSpore, ONNX Runtime, Paddle.", _tables)
translate = translate_command(
    "Print the exact MindSpore code for torchvision's nms and batched_nms, verified on the reference (exit 1 if not exact).", _render
)


@click.command()
@click.option("--suite", "suite_spec", default="seed,standard,edge", show_default=True, help="Suites (comma-separated) whose cases must kill every mutant.")
def mutants(suite_spec: str) -> None:
    """Inject known faults into a copy of the reference NMS; every one must be caught by some case (exit 1 if one survives)."""
    from parity.engine import mutation
    from parity.ops.nms import OP as op
    from parity.ops.nms import mutants as mutants_of

    names = mutation.suite_names(suite_spec)
    outcomes = mutants_of.run([c for name in names for c in op.cases(name)])
    sys.exit(mutation.report(outcomes, f"mutants of the nms reference vs suites {', '.join(names)}"))
