"""Divergences of the gradient alone (``parity run --grad``), where the forward agrees or differs otherwise.

``BACKWARD``: MindSpore's gradient skipping rois at x = 0.  (The gradient's roi_end_mode window is in
parity.ops.roi_align.divergences.core, beside the forward mapping it breaks; Paddle's gradient clamp in
parity.ops.roi_align.divergences.other_frameworks.)
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Condition, Divergence, Prediction

BACKWARD: tuple[Divergence, ...] = (
    Divergence(
        name="mindspore-backward-skips-rois-at-x-zero",
        scope=(Condition("input.rois_with_x_near_zero", "==", True),),
        explanation=(
            "MindSpore's ROIAlign gradient skips every roi whose x1 and x2 are both strictly within 0.001 of 0, "
            "as its forward does: such a roi hands no gradient back to the features (its share of sum(W * out) "
            "is dropped), while torchvision's gradient and the documented semantics give it its sampled pixels' "
            "weights. Every other roi gets the gradient of the roi_end_mode=1 window "
            "(mindspore-backward-ignores-roi-end-mode)."
        ),
        documented=False,
        evidence=(
            "Measured on mindspore 2.10.0 CPU, float32 2x3x8x10 map, 8 rois (5 with |x1|, |x2| < 0.001, among them "
            "x1 = -0.00099, x2 = 0.00099; controls x1 = 0.001 and x1 = 0, x2 = 0.5), output 3x3, W seeded: "
            "max |grad - reference(mode 1 window)| = 2.52 / 1.83 / 2.36 (sample_num 2 mode 0, 2 mode 1, 3 mode 0) "
            "and, with the skipped rois' W set to 0, 3.5e-7 / 7.6e-7 / 6.6e-7; with adaptive sampling the floor grid "
            "of those rois is empty anyway (3.0e-7 either way). `parity run --suite edge --grad -k zero-size` and "
            "`-k corners-near-zero` show it (gradient 0 where the reference has up to 2.5). The MindSpore CPU "
            "ROIAlignGrad kernel source `continue`s when roi_box[1] and roi_box[3] are both in (-0.001, 0.001); "
            "tests/test_findings.py re-measures it."
        ),
        predictions=(Prediction("mindspore", variant="skip-rois-at-x-zero", passes=("backward",)),),
        frameworks=("mindspore",),
    ),
)
