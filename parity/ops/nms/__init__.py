"""nms: ``torchvision.ops.nms`` / ``batched_nms`` vs ``mindspore.ops.NMSWithMask`` (and ONNX Runtime, Paddle).

Modules: ``signature`` (attrs, the input packing and output unpacking as data), ``reference``
(float64 greedy NMS under each semantics, with the decisions rounding could flip), ``introsort``
(libstdc++'s sort and heap, for Paddle's and ONNX Runtime's visiting orders), ``semantics``, ``divergences`` (declared findings with predictions), ``judge`` and ``explain``
(exact comparison of kept indices, in words), ``suites``, ``shrink``, ``translate``, ``repro``
(a standalone script and bug-report body, template in ``templates/``), and one
runner module per framework (``torchvision``, ``mindspore``, ``onnxruntime``, ``paddle``,
``reference_runner``).  May import: parity.engine, parity.frameworks, and this folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from parity.engine import case_filter, evaluations, regressions
from parity.engine.model import Case, Comparison, RunResult
from parity.engine.op import REFERENCE, Op
from parity.ops.nms import semantics, signature, suites

_PACKAGE = "parity.ops.nms"

#: Case-filter names beyond the generic ones (parity run -k 'threshold > 0.5').
_FILTERS: dict[str, Callable[[Case], Any]] = {
    "threshold": lambda c: c.attrs.iou_threshold,
    "batched": lambda c: c.attrs.batched,
    "boxes": lambda c: len(c.scores),
}


def _judge(case: Case, results: dict[str, RunResult], ref: RunResult) -> list[Comparison]:
    from parity.ops.nms.judge import judge

    return judge(case, results, ref)


def _stored(case: Case, results: dict[str, RunResult], ref: RunResult, frameworks: tuple[str, ...]) -> dict[str, np.ndarray]:
    arrays = {r: res.outputs["keep"] for r, res in results.items() if "keep" in res.outputs}
    key = f"{semantics.DOCUMENTED.key}.keep"
    if key in ref.outputs:
        arrays["reference"] = ref.outputs[key]
    return arrays


def _calls(case: Case, runners: tuple[str, ...]) -> dict[str, str]:
    return {r: signature.CALLS[r](case.attrs, case.port) for r in runners if r in signature.CALLS}


def _divergences() -> tuple[Any, ...]:
    from parity.ops.nms.divergences import DIVERGENCES

    return DIVERGENCES


def _kept_by_whom(comparison: Any, divergence: str) -> list[str]:
    """Reports show, per divergence, a few cases' kept lists side by side (the message's first clause)."""
    if comparison.expected != "torchvision" or ": " not in comparison.message:
        return []
    return [comparison.message.split(": ", 1)[1].split("; ")[0]]


#: The inputs every nms case has (batched ones add ``idxs``).
_INPUTS = ("boxes", "scores")


def _save_regression(case: Case, folder: Path) -> None:
    regressions.add(case, folder, "nms", signature.Attrs.from_json, _INPUTS)


def _load_fixtures(folder: Path, max_case_bytes: int, keyword: str | None) -> list[Case]:
    from parity.engine.errors import FixtureError

    if not (folder / regressions.MANIFEST).is_file():
        raise FixtureError(f"{folder}: no {regressions.MANIFEST}; nms replays the regression folders its random suite writes (--regressions)")
    selected = case_filter.matches(keyword, _FILTERS)
    return [c for c in regressions.load(folder, max_case_bytes, "nms", signature.Attrs.from_json, _INPUTS) if selected(c)]


def _shrink(case: Case, fails: Callable[[Case], bool]) -> Case:
    from parity.ops.nms.shrink import shrink

    return shrink(case, fails)


OP = Op(
    name="nms",
    title="nms",
    summary="torchvision.ops.nms / batched_nms vs mindspore.ops.NMSWithMask, ONNX NonMaxSuppression, paddle.vision.ops.nms (kept indices, exactly)",
    runners={
        "torchvision": f"{_PACKAGE}.torchvision",
        "mindspore": f"{_PACKAGE}.mindspore",
        "onnxruntime": f"{_PACKAGE}.onnxruntime",
        "paddle": f"{_PACKAGE}.paddle",
        REFERENCE: f"{_PACKAGE}.reference_runner",
    },
    frameworks=("torchvision", "mindspore", "onnxruntime", "paddle"),
    default_runners=("torchvision", "mindspore"),
    suites={
        "seed": case_filter.suite(suites.seed_cases, _FILTERS),
        "standard": case_filter.suite(suites.standard_cases, _FILTERS),
        "edge": case_filter.suite(suites.edge_cases, _FILTERS),
        "random": case_filter.random_suite(suites.random_cases, suites.RANDOM_BUDGET, suites.RANDOM_SEED, _FILTERS),
        "invalid": case_filter.suite(suites.invalid_cases, _FILTERS),
        "disagreement": case_filter.suite(suites.disagreement_cases, _FILTERS),
    },
    request=evaluations.request(semantics.needed),
    judge=_judge,
    stored=_stored,
    calls=_calls,
    shrink=_shrink,
    save_regression=_save_regression,
    load_fixtures=_load_fixtures,
    divergences=_divergences,
    held_notes=_kept_by_whom,
    filter_attributes=_FILTERS,
    commands={name: f"{_PACKAGE}.commands:{name}" for name in ("mapping", "translate", "mutants", "repro")},
)
