"""nms's own commands: ``parity mapping|translate|mutants|repro --op nms``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from parity.shells.op_commands import Section, mapping_command, mutants_command, repro_command, translate_command

if TYPE_CHECKING:
    from parity.engine.model import Case
    from parity.engine.mutation import Outcome


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


def _mutants(cases: list[Case]) -> list[Outcome]:
    from parity.ops.nms.mutants import run

    return run(cases)


mutants = mutants_command("nms", "seed,standard,edge", _mutants)


repro = repro_command("parity run --op nms --fixtures", "parity.ops.nms.repro")
