"""How roi_align cases travel to the workers and come back: request headers, input arrays, the
reference's output names, its deadline, and what is stored per case."""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

import numpy as np

from parity.ops.roi_align.divergence import documented_semantics
from parity.engine.seeds import seed_of
from parity.ops.roi_align.judge import reference_semantics
from parity.engine.op import REFERENCE
from parity.engine.model import Case, RunResult
from parity.ops.roi_align import geometry
from parity.ops.roi_align.mapping import Semantics


def request_header(case: Case, runner: str, frameworks: tuple[str, ...]) -> dict[str, Any]:
    """The op-specific fields of a worker request (the reference also gets every semantics to evaluate)."""
    header = {
        "attrs": case.attrs.to_json(),
        "port": case.port.value,
        "boxes": case.boxes,
        "layout": case.layout,
        "raw": case.invalid,  # call the framework as is: no parity-side dtype gate
    }
    if runner == REFERENCE:
        header["semantics"] = []
        for i, (sem, *same) in enumerate(_by_evaluation(reference_semantics(case, frameworks))):
            header["semantics"].append({
                "name": f"s{i}", "key": sem.key, "same": [s.key for s in same],
                "convention": dict(_convention_fields(sem.convention)), "sampling_ratio": sem.sampling_ratio,
            })
    return header


@lru_cache(maxsize=256)
def _convention_fields(convention: geometry.Convention) -> dict[str, Any]:
    """A convention's fields for the header, once per convention (dataclasses.asdict took 68 us a
    call, once per semantics of every case); callers copy it."""
    return dataclasses.asdict(convention)


def _by_evaluation(semantics: list[Semantics]) -> list[list[Semantics]]:
    """Semantics grouped by what the reference computes for them: conventions that differ only in
    their name and documentation (torchvision ``aligned=False`` and MindSpore ``roi_end_mode=0``)
    give the same numbers, so the reference evaluates and sends them once."""
    groups: dict[tuple[geometry.Convention, int], list[Semantics]] = {}
    for sem in semantics:
        rules = dataclasses.replace(sem.convention, name="", documented_by="")
        groups.setdefault((rules, sem.sampling_ratio), []).append(sem)
    return list(groups.values())


def stored_arrays(
    case: Case, results: dict[str, RunResult], ref: RunResult, frameworks: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Each framework's output and the reference under each framework's documented semantics."""
    arrays = {r: res.outputs["out"] for r, res in results.items() if "out" in res.outputs}
    for fw in frameworks:
        key = documented_semantics(fw, case.attrs, case.port).key
        if key in ref.outputs:
            arrays[f"reference.{fw}"] = ref.outputs[key]
    return arrays


def named_reference(result: RunResult, header: dict[str, Any]) -> RunResult:
    """The reference's outputs renamed from the wire names (``s0_bound``) to the judge's keys."""
    keys = {s["name"]: [s["key"], *s.get("same", ())] for s in header["semantics"]}
    suffixes = ("bound", "scale", "geom", "invalid", "grad", "grad_bound", "grad_scale", "grad_geom")
    names = dict(keys)
    names.update({f"{n}_{sfx}": [f"{k}|{sfx.replace('_', '|')}" for k in ks] for n, ks in keys.items() for sfx in suffixes})
    outputs = {key: v for name, v in result.outputs.items() for key in names[name]}
    return dataclasses.replace(result, outputs=outputs)


#: Seconds the reference takes per bilinear sample it evaluates (one semantics: result, rounding
#: bound and dtype-rounded geometry).  Measured 2.7e-8 to 3.9e-8 on the W2 and W3 workloads of
#: parity bench (a loaded 2-core machine); five times the larger figure leaves room for slower ones.
REFERENCE_SECONDS_PER_SAMPLE = 2e-7


def reference_timeout(case: Case, header: dict[str, Any], timeout: float, grad: bool) -> float:
    """The oracle's deadline for ``case``: the framework timeout plus its own expected time,
    scaled to the samples it evaluates (a large case must not turn into parity's failure)."""
    from parity.engine.pool import MAX_TIMEOUT

    channels = case.features.shape[1] if case.features.ndim == 4 else 1
    ph, pw = case.attrs.output_size
    samples = 0.0
    try:
        for sem in header["semantics"]:
            if sem["sampling_ratio"] > 0:  # a fixed grid: no geometry needed to count samples (at most this many)
                samples += float(len(case.rois) * sem["sampling_ratio"] ** 2) * channels * ph * pw
                continue
            gh, gw, _ = geometry.sampling_grid(
                case.rois, len(case.features), case.attrs.output_size, case.attrs.spatial_scale,
                sem["sampling_ratio"], geometry.Convention(**sem["convention"]),
            )
            samples += float((np.maximum(gh, 0) * np.maximum(gw, 0)).sum()) * channels * ph * pw
    except Exception:  # malformed (robustness) input: the reference rejects it at once
        return timeout
    estimate = samples * REFERENCE_SECONDS_PER_SAMPLE * (3 if grad else 1)
    return min(MAX_TIMEOUT, timeout + estimate)


def has_gradient(case: Case) -> bool:
    """Whether the case gets a backward check (well-formed float input)."""
    return not case.invalid and case.rois.ndim == 2 and case.features.ndim == 4 and case.features.dtype.kind == "f"


def grad_weight(case: Case) -> np.ndarray | None:
    """The seeded weight W of the backward check ``d sum(W * out) / d features`` (None: no gradient)."""
    if not has_gradient(case):
        return None
    ph, pw = case.attrs.output_size
    rng = np.random.default_rng(seed_of(case.id + "/grad"))
    return rng.standard_normal((len(case.rois), case.features.shape[1], ph, pw)).astype(case.features.dtype)


#: The last case's W: every runner's request for a case sends the same array (drawn once, not once per runner).
_LAST_WEIGHT: list[tuple[Case, np.ndarray | None]] = []


def _weight_of(case: Case) -> np.ndarray | None:
    if not _LAST_WEIGHT or _LAST_WEIGHT[0][0] is not case:
        _LAST_WEIGHT[:] = [(case, grad_weight(case))]
    return _LAST_WEIGHT[0][1]


def request(case: Case, runner: str, frameworks: tuple[str, ...], grad: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header fields and input arrays of ``runner``'s request for ``case``."""
    arrays = {"features": case.features, "rois": case.rois}
    weight = _weight_of(case) if grad else None
    if weight is not None:
        arrays["grad_weight"] = weight
    return request_header(case, runner, frameworks), arrays
