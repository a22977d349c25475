"""The divergences of the torchvision -> MindSpore migration on valid inputs.

``CORE``: the documented call mapping (aligned vs roi_end_mode, a call ported with the defaults) and
MindSpore's measured departures from its own documentation (adaptive grid, gradient window);
``MINDSPORE_ROIS``: how MindSpore picks an image for a fractional batch index and the rois it skips.
Kept together because they are what a user porting a torchvision call to MindSpore meets first.
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Condition, Divergence, Prediction
from parity.engine.model import Port

CORE: tuple[Divergence, ...] = (
    Divergence(
        name="aligned-vs-roi-end-mode-1",
        scope=(
            Condition("torchvision.aligned", "==", True),
            Condition("mindspore.roi_end_mode", "==", 1),
            Condition("port", "!=", Port.TRANSLATED.value),  # the translation's roi shift removes it
        ),
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
    Divergence(
        name="mindspore-backward-ignores-roi-end-mode",
        scope=(Condition("mindspore.roi_end_mode", "==", 0),),
        explanation=(
            "MindSpore's ROIAlign gradient always uses the roi_end_mode=1 window (end + 1 pixel before "
            "scaling, no size clamp), whatever roi_end_mode the forward used: with roi_end_mode=0 the forward "
            "matches torchvision aligned=False but the gradient does not, so a model ported with the "
            "'identical' mapping trains differently."
        ),
        documented=False,
        evidence=(
            "Measured on mindspore 2.10.0 CPU with `parity run --grad -k f32-inside` (gradient of sum(W*out), "
            "W seeded): for roi_end_mode=0, sample_num=2 max |grad - reference(mode 0)| = 0.556 while "
            "max |grad - reference(mode 1 window)| = 1.3e-6; with sample_num=-1 also the floor grid applies "
            "(5.2e-7 against mode 1 + floor). The MindSpore CPU ROIAlignGrad kernel source sets "
            "roi_end_mode_ = 1 unconditionally."
        ),
        predictions=(Prediction("mindspore", variant="roi-end-mode-1", passes=("backward",)),),
        frameworks=("mindspore",),
    ),
)

MINDSPORE_ROIS: tuple[Divergence, ...] = (
    Divergence(
        name="mindspore-rounds-batch-index",
        scope=(Condition("input.fractional_batch_index", "==", True),),
        explanation=(
            "A fractional batch index picks a different image: torchvision casts it to int (truncation: 0.7 -> "
            "image 0), MindSpore rounds it (rint(b + 0.00007), ties to even: 0.7 -> 1, 0.5 -> 1, 2.5 -> 3, "
            "0.49995 -> 1), and raises when b > N - 1 or b < 0. "
            "Neither documents fractional indices; detection code that computes indices in float can hit it."
        ),
        documented=False,
        evidence=(
            "Measured with `parity run -k fractional-batch` (mindspore 2.10.0 CPU): MindSpore equals the reference "
            "with rounded indices; against truncation the rois whose index rounds up differ by O(1). Ties measured "
            "on a batch of 5 with constant images: b = 0.5, 1.5, 2.5, 3.5, 0.49995, 1.49993 pick 1, 2, 3, 4, 1, 2; "
            "0.49993, 0.4999, 2.49993 pick 0, 0, 2 (`parity run -k half-batch-index`). The MindSpore CPU kernel "
            "source computes FloatToInt(rintf(roi_box[0] + 0.00007))."
        ),
        predictions=(Prediction("mindspore", variant="round-batch-index"),),
        frameworks=("mindspore",),
    ),
    Divergence(
        name="mindspore-skips-rois-at-x-zero",
        scope=(Condition("input.rois_with_x_near_zero", "==", True),),
        explanation=(
            "MindSpore's kernel skips every roi whose x1 and x2 are both within 0.001 of 0 and leaves its "
            "output unwritten: the roi holds whatever the output buffer held (zeros, a previous call's output "
            "or leftover memory, depending on the allocator). A legitimate roi along the left image border "
            "with zero width hits it."
        ),
        documented=False,
        evidence=(
            "Measured on mindspore 2.10.0 CPU with `parity run --suite edge` (one persistent worker, cases in "
            "suite order): in `-k edge-zero-size` roi 2 (x1 = x2 = 0) came back as all zeros where the documented "
            "semantics give values from -1.9 to 2.0; in `-k edge-corners-near-zero` all 3 rois are skipped and "
            "each of the 4 calls returned, bit for bit, the output of the call before it (the same [3, 3, 3, 3] "
            "shape), up to 3.3 from the reference; all other rois of the same calls match. A first call with a "
            "new output shape returned nonzero leftover values in its skipped rois; which one a call gets varies "
            "between runs (the buffer's reuse is the allocator's). tests/test_findings.py re-measures that the "
            "skipped roi is not computed; each report prints, per comparison, what the skipped rois held. The "
            "MindSpore CPU kernel source has `if (fabs(roi[1]) < 0.001 && fabs(roi[3]) < 0.001) continue;`."
        ),
        predictions=(Prediction("mindspore", unspecified="rois-with-x-near-zero"),),
        frameworks=("mindspore",),
    ),
)
