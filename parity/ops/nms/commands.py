"""nms's own commands: ``parity mapping|translate|mutants|repro --op nms``."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from parity.shells.op_commands import Section, mapping_command, mutants_command, repro_command, translate_command

if TYPE_CHECKING:
    from parity.engine.model import Case
    from parity.engine.mutation import Outcome
    from parity.engine.standalone import Written


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


def _find(case_id: str, suite: str, fixtures: Path | None) -> Case:
    from parity.ops.nms.repro import find_case

    return find_case(case_id, suite, fixtures)


def _write(case: Case, out_dir: Path, execute: bool, results_dir: Path | None) -> Written:
    from parity.ops.nms.repro import write

    return write(case, out_dir, execute=execute, results_dir=results_dir)


repro = repro_command("parity run --op nms --fixtures", _find, _write)
