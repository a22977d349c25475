"""box_iou: ``torchvision.ops.box_iou`` vs ``mindspore.ops.iou`` (modes iou and iof).

Modules: ``signature`` (attrs and the mapping as data), ``domain`` (where each framework's
documentation defines the op), ``reference`` (float64 kernel and rounding bound), ``semantics``
(what each framework documents for its call), ``divergences`` (declared findings with
predictions), ``judge``, ``suites`` and ``invalid`` (the robustness cases), ``mutants``,
``shrink`` and ``fixtures`` (regressions, and a user's own boxes), ``translate``, ``repro``
(a standalone script and bug-report body, template in ``templates/``), ``bench`` with its worker
``bench_runner``, and one runner module per framework (``torchvision``, ``mindspore``,
``reference_runner``).  May import:
parity.engine, parity.frameworks, and this folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from parity.engine import case_filter, evaluations
from parity.engine.model import Case, Comparison, RunResult
from parity.engine.op import REFERENCE, Op
from parity.ops.box_iou import invalid, semantics, signature, suites

_PACKAGE = "parity.ops.box_iou"

#: Case-filter names beyond the generic ones (parity run -k 'threshold > 0.5').
_FILTERS: dict[str, Callable[[Case], Any]] = {
    "mode": lambda c: c.attrs.mode,
    "boxes1": lambda c: np.shape(c.boxes1)[0] if np.ndim(c.boxes1) else 0,
    "boxes2": lambda c: np.shape(c.boxes2)[0] if np.ndim(c.boxes2) else 0,
}


def _judge(case: Case, results: dict[str, RunResult], ref: RunResult) -> list[Comparison]:
    from parity.ops.box_iou.judge import judge

    return judge(case, results, ref)


def _stored(case: Case, results: dict[str, RunResult], ref: RunResult, frameworks: tuple[str, ...]) -> dict[str, np.ndarray]:
    arrays = {r: res.outputs["out"] for r, res in results.items() if "out" in res.outputs}
    for fw in frameworks:
        key = semantics.documented(fw, case).key
        if key in ref.outputs:
            arrays[f"reference.{fw}"] = ref.outputs[key]
    return arrays


def _calls(case: Case, runners: tuple[str, ...]) -> dict[str, str]:
    return {r: signature.CALLS[r](case.attrs, case.port) for r in runners if r in signature.CALLS}


def _shrink(case: Case, fails: Callable[[Case], bool]) -> Case:
    from parity.ops.box_iou.shrink import shrink

    return shrink(case, fails)


def _save_regression(case: Case, folder: Path) -> None:
    from parity.ops.box_iou.fixtures import save_regression

    save_regression(case, folder)


def _load_fixtures(folder: Path, max_case_bytes: int, keyword: str | None) -> list[Case]:
    from parity.ops.box_iou.fixtures import load

    selected = case_filter.matches(keyword, _FILTERS)
    return [c for c in load(folder, max_case_bytes) if selected(c)]


def _divergences() -> tuple[Any, ...]:
    from parity.ops.box_iou.divergences import DIVERGENCES

    return DIVERGENCES


OP = Op(
    name="box_iou",
    title="box_iou",
    summary="torchvision.ops.box_iou vs mindspore.ops.iou (modes iou, iof)",
    runners={
        "torchvision": f"{_PACKAGE}.torchvision",
        "mindspore": f"{_PACKAGE}.mindspore",
        REFERENCE: f"{_PACKAGE}.reference_runner",
    },
    frameworks=("torchvision", "mindspore"),
    default_runners=("torchvision", "mindspore"),
    suites={
        "seed": case_filter.suite(suites.seed_cases, _FILTERS),
        "standard": case_filter.suite(suites.standard_cases, _FILTERS),
        "edge": case_filter.suite(suites.edge_cases, _FILTERS),
        "invalid": case_filter.suite(invalid.invalid_cases, _FILTERS),
        "random": case_filter.random_suite(suites.random_cases, suites.RANDOM_BUDGET, suites.RANDOM_SEED, _FILTERS),
    },
    request=evaluations.request(semantics.needed),
    judge=_judge,
    stored=_stored,
    calls=_calls,
    divergences=_divergences,
    shrink=_shrink,
    save_regression=_save_regression,
    load_fixtures=_load_fixtures,
    filter_attributes=_FILTERS,
    commands={name: f"{_PACKAGE}.commands:{name}" for name in ("mapping", "translate", "mutants", "repro", "bench")},
)
