"""Flag cases that cannot tell conventions apart (constant or symmetric data, rois off the image).

Such a case passes whichever roi convention a kernel uses, so it proves nothing about the
convention: a well-known converter's RoIAlign test used constant feature maps and so accepted
any sampling offset.  Flagged cases are reported at generation time, not dropped: an
all-outside roi still tests the out-of-image rule.
"""
from __future__ import annotations

import numpy as np

from parity.engine.errors import InvalidInput
from parity.engine.model import Case
from parity.ops.roi_align.geometry import MINDSPORE_END_MODE_1, TORCHVISION_ALIGNED, TORCHVISION_UNALIGNED
from parity.ops.roi_align.reference import roi_align

#: Conventions that differ for any roi on a non-constant map; a case must separate at least one pair.
CONVENTIONS = (TORCHVISION_UNALIGNED, TORCHVISION_ALIGNED, MINDSPORE_END_MODE_1)


def discriminates(case: Case) -> bool | None:
    """Whether the case's outputs differ between the conventions (None: undefined input)."""
    a = case.attrs
    with np.errstate(all="ignore"):  # extreme-value cases overflow; that is not what is asked here
        try:
            x, r = case.features.astype(np.float64), case.rois.astype(np.float64)
            outs = [roi_align(x, r, a.output_size, a.spatial_scale, a.sampling_ratio, conv) for conv in CONVENTIONS]
        except InvalidInput:
            return None
        finite = np.abs(outs[0][np.isfinite(outs[0])])
        scale = float(finite.max(initial=0.0))  # relative: tiny-valued maps discriminate too
        return any(not np.allclose(o, outs[0], rtol=0, atol=1e-9 * scale, equal_nan=True) for o in outs[1:])


def non_discriminating(cases: list[Case]) -> list[str]:
    """Ids of the cases that give identical outputs under every convention."""
    return [c.id for c in cases if discriminates(c) is False]
