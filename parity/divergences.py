"""The catalogue of declared divergences (data only; the machinery is parity.divergence).

Each entry names its scope, explains the difference, says whether a framework documents it
or it was found by measurement (with the evidence), and predicts what each framework does.
"""
from __future__ import annotations

from parity.divergence import Condition, Divergence, Prediction
from parity.model import Port

DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        name="aligned-vs-roi-end-mode-1",
        scope=(Condition("torchvision.aligned", "==", True), Condition("mindspore.roi_end_mode", "==", 1)),
        explanation=(
            "torchvision aligned=True shifts the whole roi by -0.5 pixel (x*s - 0.5) and does not clamp its "
            "size; MindSpore roi_end_mode=1 keeps the start (x1*s), moves the end to (x2+1)*s and does not "
            "clamp either. Same call in the migration note, different sampling windows. "
            "`parity translate --aligned ...` gives the exact MindSpore equivalent (a roi shift)."
        ),
        documented=True,
        evidence="MindSpore migration note for torchvision.ops.roi_align: 'different for True'.",
    ),
    Divergence(
        name="ported-with-defaults",
        scope=(Condition("port", "==", Port.DEFAULTS.value),),
        explanation=(
            "A call ported by renaming only keeps MindSpore's defaults sample_num=2 and roi_end_mode=1, "
            "while torchvision's defaults are sampling_ratio=-1 (adaptive) and aligned=False: a different "
            "sampling grid and a different roi end."
        ),
        documented=True,
        evidence="Defaults in both frameworks' signatures (mapping table rows sampling_ratio, aligned).",
    ),
    Divergence(
        name="mindspore-adaptive-sampling",
        scope=(Condition("mindspore.sample_num", "<=", 0),),
        explanation=(
            "With sample_num <= 0 MindSpore uses floor(roi_size / pooled_size) samples per bin side where "
            "torchvision (and MindSpore's own 'legacy implementation' wording) uses ceil, and divides by "
            "gh*gw without torchvision's max(., 1) guard: bins smaller than one pixel give 0/0 = NaN, and "
            "every other roi whose size is not a multiple of the output size is sampled more coarsely."
        ),
        documented=False,
        evidence=(
            "Measured on mindspore 2.10.0 CPU: with the prediction below, max |MindSpore - reference| "
            "<= 1e-6 over 40 random rois (sample_num 0, both roi_end_modes) and NaN exactly where the "
            "floor grid is empty; against the documented (ceil) semantics the difference is O(0.1-1) "
            "and NaN (tests/test_findings.py re-measures it). The MindSpore CPU kernel source computes "
            "static_cast<int>(floor(roi_height / pooled_height)) and count = gh * gw."
        ),
        predictions=(Prediction("mindspore", variant="floor-grid-no-guard"),),
        frameworks=("mindspore",),
    ),
)
