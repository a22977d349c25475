"""roi_align: ``torchvision.ops.roi_align`` and its ports (MindSpore, ONNX Runtime, Paddle).

The op's modules are the signature (parity.model.Attrs), the mapping (parity.mapping), the
float64 reference (parity.reference, parity.kernel), the framework calls (parity.runners), the
divergence catalogue (parity.divergence, parity.divergences), the judge (parity.judge), the
suites (parity.generate, edge, invalid, random_suite, verdict_cases), shrinking and fixtures;
this package wires them into the ``Op`` the engine runs.
"""
from __future__ import annotations

from typing import Any, Callable

from parity.model import Case, Comparison, RunResult
from parity.op import Op
from parity.ops.roi_align import wire
from parity.ops.roi_align.attributes import FILTER_ATTRIBUTES
from parity.runners import FRAMEWORKS, RUNNERS


def _suite(name: str) -> Callable[[str | None, int | None, int | None], list[Case]]:
    def cases(keyword: str | None, budget: int | None, seed: int | None) -> list[Case]:
        from parity import generate

        return generate.cases_for(name, keyword, budget, seed)

    return cases


def _judge(case: Case, results: dict[str, RunResult], ref: RunResult) -> list:
    from parity.judge import judge

    return judge(case, results, ref)


def _shrink(case: Case, fails: Callable[[Case], bool]) -> Case:
    from parity.shrink import shrink

    return shrink(case, fails)


def _save_regression(case: Case, folder: Any) -> None:
    from parity.shrink import save_regression

    save_regression(case, folder)


def _calls(case: Case, runners: tuple[str, ...]) -> dict[str, str]:
    from parity.mapping import CALLS

    return {fw: CALLS[fw](case.attrs, case.port) for fw in runners if fw in CALLS}


def _divergences() -> tuple:
    from parity.divergences import DIVERGENCES

    return DIVERGENCES


def _held_notes(c: Comparison, divergence: str) -> list[str]:
    from parity.judge import held_notes

    return held_notes(c, divergence)


def _case_bytes(case: Case, frameworks: tuple[str, ...], grad: bool) -> int:
    from parity.limits import case_bytes

    return case_bytes(case, frameworks, grad)


OP = Op(
    name="roi_align",
    title="RoIAlign",
    summary="torchvision.ops.roi_align vs mindspore.ops.ROIAlign (and ONNX Runtime RoiAlign, paddle.vision.ops.roi_align)",
    runners=RUNNERS,
    frameworks=FRAMEWORKS,
    default_runners=("torchvision", "mindspore"),
    suites={name: _suite(name) for name in ("seed", "standard", "edge", "golden", "invalid", "random")},
    request=wire.request,
    judge=_judge,
    stored=wire.stored_arrays,
    calls=_calls,
    grad_suites=frozenset({"random", "edge"}),
    reference_timeout=wire.reference_timeout,
    name_reference=wire.named_reference,
    shrink=_shrink,
    save_regression=_save_regression,
    case_bytes=_case_bytes,
    divergences=_divergences,
    held_notes=_held_notes,
    filter_attributes=FILTER_ATTRIBUTES,
)
