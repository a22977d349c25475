"""Memory per case: an estimate from the shapes alone, and the limit a case must fit in.

The float64 reference is the largest consumer: for every semantics a case needs it returns the
output, its rounding bound, the scale that bound is judged against and the output with positions
rounded to the case's dtype (four ``K x C x PH x PW`` float64 arrays), plus, with ``--grad``, four
arrays of the features' shape; it
also holds the features as float64 twice (the converted copy and the sampling table).  A case is
refused before any worker sees it (and a fixture before any array is decompressed) when this
estimate exceeds ``--max-case-mb``.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

from parity.errors import UsageError
from parity.model import Attrs, Case

#: Default of ``parity run --max-case-mb``: a case estimated above this is refused.  The reference
#: worker's measured peak is about twice the estimate (a W2-sized case: estimate 888 MiB, peak RSS
#: 1,767 MiB), and the driver holds the outputs it receives, so 4 GiB leaves room on a 24 GiB machine.
DEFAULT_MAX_CASE_MB = 4096
DEFAULT_MAX_CASE_BYTES = DEFAULT_MAX_CASE_MB << 20
#: Outputs the reference returns per semantics: the result, its rounding bound and scale, the geometry check.
OUTPUTS_PER_SEMANTICS = 4
OPTION = "--max-case-mb"


def _elements(shape: Sequence[int]) -> int:
    return math.prod(max(int(d), 0) for d in shape)


def estimate(features_shape: Sequence[int], rois_shape: Sequence[int], attrs: Attrs, semantics: int, grad: bool) -> int:
    """Bytes the reference needs for a case of these shapes evaluated under ``semantics`` semantics."""
    rois = rois_shape[0] if len(rois_shape) >= 2 else 1
    channels = features_shape[-3] if len(features_shape) >= 3 else 1
    out = _elements((rois, channels, *attrs.output_size))
    feats = _elements(features_shape)
    per_semantics = OUTPUTS_PER_SEMANTICS * (out + (feats if grad else 0))
    return 8 * (2 * feats + semantics * per_semantics + (out if grad else 0))


def case_bytes(case: Case, frameworks: tuple[str, ...], grad: bool) -> int:
    """The estimate for a roi_align ``case`` as ``parity run`` would send it to ``frameworks``."""
    from parity.judge import reference_semantics
    from parity.ops.roi_align.wire import grad_weight

    semantics = len(reference_semantics(case, frameworks))
    with_grad = grad and grad_weight(case) is not None
    return estimate(case.features.shape, case.rois.shape, case.attrs, semantics, with_grad)


def generic_case_bytes(case: Case, frameworks: tuple[str, ...], grad: bool) -> int:
    """An op without its own estimate: every runner's copy of the inputs, as float64, per framework."""
    inputs = sum(_elements(a.shape) for a in case.inputs.values())
    return 8 * inputs * (2 + 2 * len(frameworks))


def describe(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):,.0f} MB"


def check(
    cases: list[Case],
    frameworks: tuple[str, ...],
    grad: bool,
    limit: int,
    estimate_case: Callable[[Case, tuple[str, ...], bool], int] = generic_case_bytes,
) -> None:
    """Refuse the run (a usage error, before any worker starts) when a case exceeds ``limit`` bytes."""
    over = [(case, need) for case in cases if (need := estimate_case(case, frameworks, grad)) > limit]
    if not over:
        return
    case, need = over[0]
    more = f" ({len(over) - 1} more cases too)" if len(over) > 1 else ""
    shapes = ", ".join(f"{name} {list(a.shape)}" for name, a in case.inputs.items())
    raise UsageError(
        f"case {case.id!r} needs an estimated {describe(need)} ({shapes}), more than "
        f"{OPTION} {limit >> 20}{more}; raise {OPTION} or leave the case out with -k"
    )
