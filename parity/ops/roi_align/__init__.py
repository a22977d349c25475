"""roi_align: ``torchvision.ops.roi_align`` and its ports (MindSpore, ONNX Runtime, Paddle).

Modules: the signature (``attrs``), the mapping table (``mapping``), the float64 reference
(``reference``, its windows and samples ``geometry``, a float16 kernel's bounds ``float16_serial``
and its compiled sum ``float16_kernel``, its compiled loops ``kernel``, rounding bounds ``bounds``), the framework calls (``runners``), the
divergence machinery and catalogue (``divergence``, ``divergences``), the judge (``judge``, in steps
``judge_own``, ``judge_pair``, ``judge_scope``), the suites (``generate``, ``edge``, ``invalid``, ``random_suite``, ``verdict_cases``), shrinking
and fixtures, translation (``translate``, ``translate_code``), repro scripts, mutants, ``bench``,
the user's own arrays (``user_check``, ``capture``) and its commands (``commands``).  This package
wires them into the ``Op`` the engine runs; it imports them only when the engine calls them, so
that listing ops stays free.  May import: parity.engine, parity.frameworks, and this folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from parity.engine.model import Case, Comparison, RunResult
from parity.engine.op import Op
from parity.ops.roi_align.attributes import FILTER_ATTRIBUTES
from parity.ops.roi_align.runners import FRAMEWORKS, RUNNERS


def _suite(name: str) -> Callable[[str | None, int | None, int | None], list[Case]]:
    def cases(keyword: str | None, budget: int | None, seed: int | None) -> list[Case]:
        from parity.ops.roi_align import generate

        return generate.cases_for(name, keyword, budget, seed)

    return cases


def _request(case: Case, runner: str, frameworks: tuple[str, ...], grad: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from parity.ops.roi_align import wire

    return wire.request(case, runner, frameworks, grad)


def _reference_timeout(case: Case, header: dict[str, Any], timeout: float, grad: bool) -> float:
    from parity.ops.roi_align import wire

    return wire.reference_timeout(case, header, timeout, grad)


def _name_reference(result: RunResult, header: dict[str, Any]) -> RunResult:
    from parity.ops.roi_align import wire

    return wire.named_reference(result, header)


def _stored(case: Case, results: dict[str, RunResult], ref: RunResult, frameworks: tuple[str, ...]) -> dict[str, np.ndarray]:
    from parity.ops.roi_align import wire

    return wire.stored_arrays(case, results, ref, frameworks)


def _judge(case: Case, results: dict[str, RunResult], ref: RunResult) -> list[Comparison]:
    from parity.ops.roi_align.judge import judge

    return judge(case, results, ref)


def _shrink(case: Case, fails: Callable[[Case], bool]) -> Case:
    from parity.ops.roi_align.shrink import shrink

    return shrink(case, fails)


def _save_regression(case: Case, folder: Path) -> None:
    from parity.ops.roi_align.shrink import save_regression

    save_regression(case, folder)


def _load_fixtures(folder: Path, max_case_bytes: int, keyword: str | None) -> list[Case]:
    from parity.ops.roi_align import fixtures, generate

    cases = fixtures.load(folder, max_case_bytes=max_case_bytes)
    generate.check_unique(cases, f"fixture folder {folder}")
    return generate.matching(cases, keyword)


def _calls(case: Case, runners: tuple[str, ...]) -> dict[str, str]:
    from parity.ops.roi_align.mapping import CALLS

    return {fw: CALLS[fw](case.attrs, case.port) for fw in runners if fw in CALLS}


def _case_bytes(case: Case, frameworks: tuple[str, ...], grad: bool) -> int:
    from parity.ops.roi_align.limits import case_bytes

    return case_bytes(case, frameworks, grad)


def _divergences() -> tuple[Any, ...]:
    from parity.ops.roi_align.divergences import DIVERGENCES

    return DIVERGENCES


def _held_notes(c: Comparison, divergence: str) -> list[str]:
    from parity.ops.roi_align.judge_scope import held_notes

    return held_notes(c, divergence)


_COMMANDS = "parity.ops.roi_align.commands"

OP = Op(
    name="roi_align",
    title="RoIAlign",
    summary="torchvision.ops.roi_align vs mindspore.ops.ROIAlign (and ONNX Runtime RoiAlign, paddle.vision.ops.roi_align)",
    runners=RUNNERS,
    frameworks=FRAMEWORKS,
    default_runners=("torchvision", "mindspore"),
    suites={name: _suite(name) for name in ("seed", "standard", "edge", "golden", "invalid", "random")},
    request=_request,
    judge=_judge,
    stored=_stored,
    calls=_calls,
    # gradients unless --no-grad in the suites that explore the domain, where a backward rule the
    # catalogue does not know shows up; the standard suite's committed baseline is forward-only
    grad_suites=frozenset({"random", "edge"}),
    reference_timeout=_reference_timeout,
    name_reference=_name_reference,
    shrink=_shrink,
    save_regression=_save_regression,
    load_fixtures=_load_fixtures,
    case_bytes=_case_bytes,
    divergences=_divergences,
    held_notes=_held_notes,
    filter_attributes=FILTER_ATTRIBUTES,
    commands={name: f"{_COMMANDS}:{name}" for name in ("mapping", "translate", "check", "generate", "repro", "mutants", "bench")},
)
