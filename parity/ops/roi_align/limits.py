"""What a roi_align case costs in memory, from its shapes alone.

The float64 reference is the largest consumer: for every semantics a case needs it returns the
output, its rounding bound, the scale that bound is judged against and the output with positions
rounded to the case's dtype (four ``K x C x PH x PW`` float64 arrays), plus, with ``--grad``, four
arrays of the features' shape; it also holds the features as float64 twice (the converted copy
and the sampling table).  The reply adds no copy: frames are written from the arrays' own
buffers (parity.engine.protocol); before that, the reply's ``.npz`` and its frame were two more
copies of the outputs, the worker's peak.  Measured on a W4-sized case (4x256x200x272, 2000 rois,
7x7, 2 distinct semantics): estimate 2.5 GB, the reference worker's peak RSS 2.9 GB (its runtime
and the float32 features as sent included; README "Benchmarks").  A fixture is refused before any array is decompressed when this exceeds
``--max-case-mb`` (parity.engine.limits).
"""
from __future__ import annotations

from typing import Sequence

from parity.engine.limits import elements
from parity.engine.model import Case
from parity.ops.roi_align.attrs import Attrs

#: The float16 emulation (parity.ops.roi_align.float16_serial) holds at most this many sample
#: values at once (it loops over samples); a case needing more is not emulated.  Here, not there,
#: so that the driver can tell without importing the compiled loops.
SERIAL_LIMIT = 1 << 22
#: Outputs the reference returns per semantics: the result, its rounding bound and scale, the geometry check.
OUTPUTS_PER_SEMANTICS = 4

def estimate(features_shape: Sequence[int], rois_shape: Sequence[int], attrs: Attrs, semantics: int, grad: bool) -> int:
    """Bytes the reference needs for a case of these shapes evaluated under ``semantics`` semantics."""
    rois = rois_shape[0] if len(rois_shape) >= 2 else 1
    channels = features_shape[-3] if len(features_shape) >= 3 else 1
    out = elements((rois, channels, *attrs.output_size))
    feats = elements(features_shape)
    per_semantics = OUTPUTS_PER_SEMANTICS * (out + (feats if grad else 0))
    return 8 * (2 * feats + semantics * per_semantics + (out if grad else 0))


def case_bytes(case: Case, frameworks: tuple[str, ...], grad: bool) -> int:
    """The estimate for a roi_align ``case`` as ``parity run`` would send it to ``frameworks``."""
    from parity.ops.roi_align.judge import reference_semantics
    from parity.ops.roi_align.wire import has_gradient

    semantics = len(reference_semantics(case, frameworks))
    with_grad = grad and has_gradient(case)
    return estimate(case.features.shape, case.rois.shape, case.attrs, semantics, with_grad)
