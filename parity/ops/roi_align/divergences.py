"""The catalogue of declared divergences (data only; the machinery is parity.ops.roi_align.divergence).

Each entry names its scope, explains the difference, says whether a framework documents it
or it was found by measurement (with the evidence), and predicts what each framework does.
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Condition, Divergence, Prediction
from parity.engine.model import Port

DIVERGENCES: tuple[Divergence, ...] = (
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


MORE: tuple[Divergence, ...] = (
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

EDGE: tuple[Divergence, ...] = (
    Divergence(
        name="mindspore-rejects-batch-index-above-last",
        scope=(Condition("input.batch_index_above_last", "==", True),),
        explanation=(
            "MindSpore range-checks the raw float batch index against N - 1 and raises for N - 1 < b < N, "
            "an index torchvision truncates to the last image."
        ),
        documented=False,
        evidence="Measured with `parity run --suite edge -k fractional-batch-index`: 'image_index 1.2 must be a number in [0,1]'.",
        predictions=(Prediction("mindspore", behaviour="raises", message="image_index"),),
        frameworks=("mindspore",),
    ),
    Divergence(
        name="torchvision-raises-on-one-negative-grid-side",
        scope=(Condition("input.torchvision_grid_sign_mismatch", "==", True),),
        explanation=(
            "With aligned=True and adaptive sampling, an inverted roi (x2 < x1 or y2 < y1, outside the documented "
            "domain) gives a negative grid side; when exactly one side is negative torchvision sizes a buffer by "
            "their negative product and raises instead of returning the zeros its own loop would give."
        ),
        documented=False,
        evidence="Measured with `parity run --suite edge -k inverted`: ValueError 'cannot create std::vector larger than max_size()'.",
        predictions=(Prediction("torchvision", behaviour="raises", message="max_size"),),
        frameworks=("torchvision",),
    ),
    Divergence(
        name="torchvision-outside-samples-read-origin",
        scope=(Condition("input.nonfinite_features", "==", True),),
        explanation=(
            "For a sample outside the image torchvision's CPU kernel multiplies pixel (0, 0) of the image by "
            "weight 0 instead of skipping it, so a NaN or Inf there turns every bin with an outside sample "
            "into NaN; MindSpore and the documented rule (outside samples count as 0) do not."
        ),
        documented=False,
        evidence=(
            "Measured with `parity run --suite edge -k nan-at-origin`: torchvision NaN in exactly the bins "
            "that have an out-of-image sample, finite elsewhere (max other difference 4.9e-7); the C++ "
            "kernel source sets pos1..pos4 = 0 and w1..w4 = 0 for such samples."
        ),
        predictions=(Prediction("torchvision", variant="outside-reads-origin", passes=("forward",)),),
        frameworks=("torchvision",),
    ),
    Divergence(
        name="float16-accumulation-overflow",
        scope=(Condition("input.large_float16", "==", True),),
        explanation=(
            "Both CPU kernels accumulate a float16 bin in float16: when the running sum of its samples passes "
            "65504 the bin becomes +-inf, although the average itself is representable. Where only a partial "
            "sum can pass the limit (the sum of |samples| does, the sum does not) the outcome depends on the "
            "order of summation and is not predicted."
        ),
        documented=False,
        evidence=(
            "Measured with `parity run --suite edge -k float16-near-max` (values up to 65000): torchvision and "
            "MindSpore give inf in the same bins, whose float64 sums exceed 65504."
        ),
        predictions=(
            Prediction("torchvision", variant="float16-sum-overflow", unspecified="float16-partial-overflow", passes=("forward",)),
            Prediction("mindspore", variant="float16-sum-overflow", unspecified="float16-partial-overflow", passes=("forward",)),
        ),
    ),
)

PRECISION: tuple[Divergence, ...] = (
    Divergence(
        name="float16-accumulation-stagnation",
        scope=(Condition("input.float16_long_sums", "==", True),),
        explanation=(
            "Both CPU kernels add a float16 bin's samples to a float16 running sum. Once the sum is about 2048 "
            "times a sample, adding the sample changes nothing, so a bin of thousands of samples stops growing "
            "and its average comes out far below the exact value (0.1 where it is 2.0); from 65520 samples the "
            "count itself is inf in float16 and the bin is 0. The prediction bounds what such a kernel returns "
            "(parity.ops.roi_align.reference.float16_serial_interval); it is tight, and excludes the exact value."
        ),
        documented=False,
        evidence=(
            "Measured on torch 2.14.1 / mindspore 2.10.0 CPU: a constant 2.0 float16 map, one 10 x 10 px roi, "
            "output 1x1: sampling_ratio 50 / 100 / 200 / 256 give 1.639 / 0.4097 / 0.1024 / 0 in both frameworks "
            "(bitwise equal), exactly the serial float16 sum (4096 after stagnation) divided by the float16 "
            "count; on constant, normal and uniform maps with grids 2 to 256 and both conventions, both "
            "frameworks lie inside the predicted bounds in every bin while the exact value lies outside them "
            "from 100 samples per bin side (`parity run -k stagnation`)."
        ),
        predictions=(
            Prediction("torchvision", variant="float16-serial-sum", passes=("forward",)),
            Prediction("mindspore", variant="float16-serial-sum", passes=("forward",)),
        ),
    ),
)

DIVERGENCES = DIVERGENCES + MORE + EDGE + PRECISION


def _robustness(tag: str, framework: str, behaviour: str, explanation: str, message: str | None = None) -> Divergence:
    """A measured reaction of one framework to one kind of invalid input (the ``invalid`` suite)."""
    return Divergence(
        name=f"{framework}-{tag}",
        scope=(Condition("input.tags", "has", "invalid"), Condition("input.tags", "has", tag)),
        explanation=explanation,
        documented=False,
        evidence=(
            f"Measured on the pinned versions with `parity run --suite invalid -k {tag}`: {framework} "
            f"{behaviour}{' (' + message + ')' if message else ''}; see the robustness matrix."
        ),
        predictions=(Prediction(framework, behaviour=behaviour, message=message),),
        frameworks=(framework,),
    )


_GARBAGE = "torchvision's CPU kernel does not range-check the batch index and reads memory outside the features: silent garbage."

ROBUSTNESS: tuple[Divergence, ...] = (
    _robustness("batch-index-out-of-range", "torchvision", "output", _GARBAGE),
    _robustness("batch-index-negative", "torchvision", "output", _GARBAGE),
    _robustness("batch-index-huge", "torchvision", "crash", "torchvision reads far outside the features and the process dies.", "SIGSEGV"),
    _robustness("batch-index-nan", "torchvision", "output", "A NaN batch index is cast to an integer without a check."),
    _robustness("batch-index-nan", "mindspore", "output", "MindSpore's range check compares the raw float, which NaN passes."),
    _robustness("coordinate-nan", "torchvision", "crash", "A NaN coordinate becomes an undefined integer index: the process dies.", "SIGSEGV"),
    _robustness("coordinate-nan", "mindspore", "output", "MindSpore returns zeros for a roi with a NaN coordinate, without an error."),
    _robustness("coordinate-inf", "torchvision", "output", "torchvision returns NaN/Inf bins for an infinite coordinate, without an error."),
    _robustness("coordinate-inf", "mindspore", "output", "MindSpore returns finite values for an infinite coordinate, without an error."),
    _robustness("features-3d", "mindspore", "output", "MindSpore accepts 3-D features (rank <= 4 is checked, not == 4) and returns garbage."),
    _robustness("features-5d", "torchvision", "output", "torchvision accepts 5-D features and reads them as if 4-D: silent garbage."),
    _robustness(
        "output-size-zero",
        "mindspore",
        "raises",
        "An output size of 0 gives torchvision an empty result and MindSpore an error.",
        "pooled_height is zero",
    ),
)

DIVERGENCES = DIVERGENCES + ROBUSTNESS


# --- ONNX Runtime and Paddle (parity.ops.roi_align.runners.onnxruntime, parity.ops.roi_align.runners.paddle) ---------------

_ADAPTIVE_ALIGNED = (Condition("torchvision.aligned", "==", True), Condition("torchvision.sampling_ratio", "<=", 0))
_MAPPED, _DEFAULTS = Condition("port", "==", Port.MAPPED.value), Condition("port", "==", Port.DEFAULTS.value)
_PADDLE_EMPTY_GRID = (
    "Paddle's CPU roi_align divides each bin by gh * gw without torchvision's (and its own docs' Detectron) "
    "max(., 1) guard: with aligned=True (no size clamp) and adaptive sampling, a roi whose size is in "
    "(-output_size, 0] on an axis has an empty grid and gives 0/0 = NaN in every bin, where torchvision "
    "gives 0. Every other roi follows the documented semantics."
)
_PADDLE_EMPTY_GRID_EVIDENCE = (
    "Measured on paddlepaddle 3.3.1 CPU, float32 2x3x10x12 map, 40 rois with sizes in {-0.8, -0.3, 0, 0.2, 0.7, "
    "1, 2.5, 6}, output 2x3, sampling_ratio 0 and -1, aligned=True: NaN in exactly the bins the reference with "
    "empty_grid_nan predicts (378 of 720), every other value within 6.8e-7 of it (float32 geometry); the "
    "documented semantics put 0 in those bins. The edge suite shows it on zero-size and corners-near-zero "
    "rois (`parity run --suite edge --runners torchvision,paddle -k edge-zero-size`); "
    "tests/test_runners_extra.py re-measures it."
)
_PADDLE_GRAD_CLAMP = (
    "Paddle's roi_align gradient clamps the roi size to >= 1 even with aligned=True, where its forward (and "
    "torchvision, forward and backward) does not: rois smaller than one feature pixel get a gradient that "
    "does not belong to the forward result."
)
_PADDLE_GRAD_CLAMP_EVIDENCE = (
    "Measured on paddlepaddle 3.3.1 CPU with the runner's gradient of sum(W * out) (W seeded), float32 "
    "2x3x10x12 map, 40 rois with sizes from -0.8 to 6, output 2x3, aligned=True: max |grad - reference| is "
    "3.4 / 3.8 (sampling_ratio 1 / 2) under the documented semantics and 1.7e-6 / 1.2e-6 with the size "
    "clamped to >= 1 (`parity run --grad --runners torchvision,paddle -k aligned=1`)."
)



def _reads_origin(framework: str, figures: str) -> Divergence:
    return Divergence(
        name=f"{framework}-outside-samples-read-origin",
        scope=(Condition("input.nonfinite_features", "==", True),),
        explanation=(
            f"Like torchvision's, {framework}'s CPU kernel gives a sample outside the image position 0 and weight 0 "
            "instead of skipping it, so a NaN or Inf at pixel (0, 0) turns every bin with an outside sample into NaN."
        ),
        documented=False,
        evidence=(
            f"Measured with `parity run --suite edge --runners torchvision,{framework} -k nan-at-origin`: {figures}; "
            "the NaN bins are exactly those with an out-of-image sample."
        ),
        predictions=(Prediction(framework, variant="outside-reads-origin", passes=("forward",)),),
        frameworks=(framework,),
    )


OTHER_FRAMEWORKS: tuple[Divergence, ...] = (
    Divergence(
        name="onnxruntime-ported-with-defaults",
        scope=(_DEFAULTS,),
        explanation=(
            "An ONNX RoiAlign node written with its defaults has sampling_ratio=0 (adaptive, as torchvision's -1) "
            "but, from opset 16, coordinate_transformation_mode='half_pixel' (torchvision aligned=True) while "
            "torchvision defaults to aligned=False: a window shifted by half a pixel and no size clamp. "
            "torch.onnx exports 'output_half_pixel' for aligned=False; the mapping does the same."
        ),
        documented=True,
        evidence="ONNX RoiAlign-16 spec: coordinate_transformation_mode default 'half_pixel', sampling_ratio default 0.",
        frameworks=("torchvision", "onnxruntime"),
    ),
    Divergence(
        name="paddle-ported-with-defaults",
        scope=(_DEFAULTS,),
        explanation=(
            "paddle.vision.ops.roi_align defaults to aligned=True, torchvision.ops.roi_align to aligned=False: "
            "a call ported by renaming shifts every window by half a pixel and drops the size clamp."
        ),
        documented=True,
        evidence="Signatures: paddle.vision.ops.roi_align(..., aligned=True); torchvision.ops.roi_align(..., aligned=False).",
        frameworks=("torchvision", "paddle"),
    ),
    Divergence(
        name="torchvision-float16-sample-positions",
        scope=(Condition("input.dtype", "==", "float16"), Condition("input.large_float16", "==", False), _MAPPED),
        explanation=(
            "torchvision's CPU kernel runs in at::Half, so its sample positions are rounded to float16; ONNX "
            "Runtime's float16 RoiAlign computes them in float32. Where a sample lies within float16 rounding "
            "of the image border or an adaptive-grid step, the two legitimately take different sides: each is "
            "still judged against the reference on its own (torchvision with float16-rounded positions)."
        ),
        documented=False,
        evidence=(
            "Measured with `parity run --runners torchvision,onnxruntime -k f16` on the standard suite "
            "(torch 2.14.1, onnxruntime 1.32.0): ORT is within 3.1 float16 ULP of the exact reference in all 88 "
            "float16 cases; torchvision passes only with float16-rounded positions in 2 of them (…-f16-border, "
            "…-f16-huge, out=4x3, s=0.25), and exactly those 2 differ between the two (3 of 216 elements, up "
            "to 0.22, border bins of one roi)."
        ),
        frameworks=("torchvision", "onnxruntime"),
    ),
    Divergence(
        name="torchvision-float16-overflow-vs-onnxruntime",
        scope=(Condition("input.large_float16", "==", True),),
        explanation=(
            "torchvision accumulates a float16 bin in float16 and overflows to inf past 65504 (declared: "
            "float16-accumulation-overflow); ONNX Runtime's float16 RoiAlign accumulates in float32 and returns "
            "the representable average, as the reference does."
        ),
        documented=False,
        evidence=(
            "Measured with `parity run --suite edge --runners torchvision,onnxruntime -k float16-near-max`: "
            "onnxruntime PASSes against the reference (no inf) where torchvision has inf in 20 of 108 and 21 of 108 "
            "elements (aligned=0 / 1)."
        ),
        frameworks=("torchvision", "onnxruntime"),
    ),
    _reads_origin("onnxruntime", "30 of 108 (aligned=0) and 27 of 108 (aligned=1) elements NaN, rest within 4.9e-7"),
    _reads_origin("paddle", "30 of 108 (aligned=0) and 27 of 108 (aligned=1) elements NaN, rest within 4.0e-7"),
    Divergence(
        name="onnxruntime-mixed-sign-adaptive-grid-raises",
        scope=(Condition("input.torchvision_grid_sign_mismatch", "==", True),),  # the same grid as half_pixel's
        explanation=(
            "With aligned=True (half_pixel) and adaptive sampling, ONNX Runtime raises 'Integer overflow' (SafeInt) "
            "when a roi's grid sides ceil(h / output_h) and ceil(w / output_w) have opposite signs, i.e. a roi "
            "inverted on one axis by at least the output size; the spec (and onnx.reference) compute an empty "
            "grid, output 0. Rois inverted on both axes give 0 as specified. (torchvision raises here too: "
            "'cannot create std::vector larger than max_size()'.)"
        ),
        documented=False,
        evidence=(
            "Measured on onnxruntime 1.32.0 CPU, one roi on a 10x12 map, output 1x1 / 2x2: grids (3, -2), (-2, 3), "
            "(1, -1) raise 'SafeIntOnOverflow() Integer overflow'; (-2, -2), (-1, -1), (0, 0) give 0. Edge suite: "
            "`parity run --suite edge --runners torchvision,onnxruntime -k edge-inverted`."
        ),
        predictions=(Prediction("onnxruntime", behaviour="raises", message="Integer overflow"),),
        frameworks=("onnxruntime",),
    ),
    Divergence(
        name="paddle-adaptive-empty-grid-nan",
        scope=(*_ADAPTIVE_ALIGNED, _MAPPED),
        explanation=_PADDLE_EMPTY_GRID,
        documented=False,
        evidence=_PADDLE_EMPTY_GRID_EVIDENCE,
        predictions=(Prediction("paddle", variant="no-empty-grid-guard", passes=("forward",)),),
        frameworks=("paddle",),
    ),
    Divergence(
        name="paddle-adaptive-empty-grid-nan-ported",
        scope=(_DEFAULTS,),
        explanation=_PADDLE_EMPTY_GRID + " A call ported with Paddle's defaults (aligned=True, sampling_ratio=-1) is affected.",
        documented=False,
        evidence=_PADDLE_EMPTY_GRID_EVIDENCE,
        predictions=(Prediction("paddle", variant="no-empty-grid-guard", passes=("forward",)),),
        frameworks=("paddle",),
    ),
    Divergence(
        name="paddle-negative-adaptive-grid-abort",
        scope=(*_ADAPTIVE_ALIGNED, Condition("input.tags", "has", "inverted")),
        explanation=(
            "With aligned=True and adaptive sampling, a roi inverted by at least the output size on an axis has a "
            "negative grid side, and Paddle's CPU kernel sizes a buffer with it: the process aborts (SIGABRT, "
            "std::bad_alloc or vector::reserve) instead of raising."
        ),
        documented=False,
        evidence=(
            "Measured on paddlepaddle 3.3.1 CPU, one roi on a 10x12 map: grids (-1, -1), (-2, -2), (3, -2), (-2, 3), "
            "(1, -1) abort the process; (0, 0) gives NaN. Edge suite: `parity run --suite edge --runners "
            "torchvision,paddle -k edge-inverted` (CRASH, SIGABRT)."
        ),
        predictions=(Prediction("paddle", behaviour="crash", message="SIGABRT"),),
        frameworks=("paddle",),
    ),
    Divergence(
        name="paddle-backward-clamps-aligned-roi-size",
        scope=(Condition("torchvision.aligned", "==", True), _MAPPED),
        explanation=_PADDLE_GRAD_CLAMP,
        documented=False,
        evidence=_PADDLE_GRAD_CLAMP_EVIDENCE,
        predictions=(Prediction("paddle", variant="clamp-roi-size", passes=("backward",)),),
        frameworks=("paddle",),
    ),
    Divergence(
        name="paddle-backward-clamps-aligned-roi-size-ported",
        scope=(_DEFAULTS,),
        explanation=_PADDLE_GRAD_CLAMP + " A call ported with Paddle's defaults (aligned=True) is affected.",
        documented=False,
        evidence=_PADDLE_GRAD_CLAMP_EVIDENCE,
        predictions=(Prediction("paddle", variant="clamp-roi-size", passes=("backward",)),),
        frameworks=("paddle",),
    ),
)

DIVERGENCES = DIVERGENCES + OTHER_FRAMEWORKS

OTHER_ROBUSTNESS: tuple[Divergence, ...] = (
    _robustness("coordinate-nan", "paddle", "output", "Paddle does not check roi coordinates: a NaN coordinate gives finite numbers, without an error."),
    _robustness("coordinate-inf", "paddle", "output", "Paddle does not check roi coordinates: an infinite coordinate gives zeros, without an error."),
    _robustness("output-size-zero", "onnxruntime", "output", "ONNX Runtime returns an empty [K, C, 0, W] result for output_height=0, without an error."),
)

DIVERGENCES = DIVERGENCES + OTHER_ROBUSTNESS


def _float32_scale(framework: str, document: str) -> Divergence:
    return Divergence(
        name=f"{framework}-float32-spatial-scale",
        scope=(Condition("input.dtype", "==", "float64"), Condition("input.scale_not_float32", "==", True)),
        explanation=(
            f"{document} spatial_scale as a float32, so with float64 inputs and a scale that float32 cannot hold "
            "exactly (0.3, 1/3) every roi is scaled by a slightly different factor than torchvision's float64: "
            "differences of order 1e-7 relative, far above float64 rounding."
        ),
        documented=True,
        evidence=(
            f"`parity run --suite random --runners torchvision,{framework}`: {framework} matches the reference with "
            "a float32 scale (its documented semantics) in every float64 case, and differs from torchvision by up "
            "to ~1e-6 only where the scale is not a float32 value."
        ),
        frameworks=(framework,),
    )


PADDLE_INVALID: tuple[Divergence, ...] = (
    *(
        _robustness(tag, "paddle", "raises", f"Paddle rejects {what}, which torchvision accepts.", message)
        for tag, what, message in (
            ("output-size-zero", "an output size of 0", "pooled_height"),
            ("spatial-scale-zero", "a spatial scale of 0", "spatial_scale"),
            ("spatial-scale-negative", "a negative spatial scale", "spatial_scale"),
        )
    ),
    Divergence(
        name="paddle-integer-features",
        scope=(Condition("input.tags", "has", "invalid"), Condition("input.tags", "has", "integer-features")),
        explanation=(
            "Paddle runs RoIAlign on int32 features and returns int32 results (truncated averages), where "
            "torchvision and MindSpore raise: numbers that silently differ from the real average."
        ),
        documented=False,
        evidence="`parity run --suite invalid --runners torchvision,paddle -k integer-features`: int32 output, up to 2.1 off.",
        predictions=(Prediction("paddle", unspecified="everything"),),
        frameworks=("paddle",),
    ),
)

DIVERGENCES = DIVERGENCES + PADDLE_INVALID + (
    _float32_scale("onnxruntime", "The ONNX RoiAlign spec declares"),
    _float32_scale("paddle", "paddle.vision.ops.roi_align documents"),
)


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

DIVERGENCES = DIVERGENCES + BACKWARD


# --- found by the random suite's wider domain (parity.ops.roi_align.random_suite) -------------------------------

_UNDEFINED_POSITION = (
    "torchvision's CPU kernel does not check roi values: a non-finite one makes sample positions or the "
    "image index NaN or infinite (inf - inf, 0 * inf), which become undefined integer indices; depending on "
    "where they point the process dies (SIGSEGV) or returns numbers without an error (and where the adaptive "
    "grid sides get opposite signs it raises, as torchvision-raises-on-one-negative-grid-side)."
)


def _undefined(tag: str, figures: str) -> Divergence:
    """torchvision's reaction to a non-finite roi value is undefined behaviour: it dies or returns numbers."""
    return Divergence(
        name=f"torchvision-{tag}-undefined",
        scope=(Condition("input.tags", "has", "invalid"), Condition("input.tags", "has", tag)),
        explanation=_UNDEFINED_POSITION,
        documented=False,
        evidence=f"Measured with `parity run --suite random --budget 2000` (torch 2.14.1, CPU): {figures}.",
        predictions=(Prediction("torchvision", behaviour="crash", message="SIGSEGV"), Prediction("torchvision", behaviour="output")),
        frameworks=("torchvision",),
    )


RANDOM_FINDINGS: tuple[Divergence, ...] = (
    Divergence(
        name="mindspore-rejects-negative-batch-index",
        scope=(Condition("input.negative_fractional_batch_index", "==", True),),
        explanation=(
            "MindSpore range-checks the raw float batch index against [0, N - 1] and raises for -1 < b < 0, "
            "an index torchvision truncates to image 0 (and MindSpore's own rint(b + 0.00007) would round to 0 "
            "for b > -0.50007)."
        ),
        documented=False,
        evidence=(
            "Measured on mindspore 2.10.0 CPU, float32, N = 2: b = -1e-5, -7e-5, -0.3, -0.5, -0.7, -0.99999 all "
            "raise 'image_index -1e-05 must be a number in [0,1]' (and so on); b = 0, 0.99999, 1 run, 1.00001 raises. "
            "`parity run --suite random -k batch-index` shows it (e.g. '...-random-batch-index-s0-0', b = -0.7), as "
            "does `parity run -k batch-index-valid-for-one-minus-0.9` in the standard suite."
        ),
        predictions=(Prediction("mindspore", behaviour="raises", message="image_index"),),
        frameworks=("mindspore",),
    ),
    _robustness(
        "dtype-mismatch",
        "torchvision",
        "raises",
        "torchvision requires rois of the features' dtype ('input should have the same type as rois'); MindSpore "
        "accepts float16 rois with float32 features (and the reverse) and matches the reference for the rois as "
        "given (47 of 109 mixed cases of `parity run --suite random --budget 2000`; it raises for float64 rois).",
        "same type as rois",
    ),
    _robustness(
        "adaptive-grid-overflow",
        "torchvision",
        "output",
        "With adaptive sampling and roi_size / output_size above 2**31 the integer grid overflows (INT_MIN): the "
        "sampling loops run zero times and torchvision returns zeros, without an error (95 of 95 random cases; "
        "tests/test_findings.py).",
    ),
    _robustness(
        "adaptive-grid-overflow",
        "mindspore",
        "output",
        "With adaptive sampling and roi_size / output_size above 2**31 MindSpore's floor grid overflows (INT_MIN): "
        "the sampling loops run zero times and it returns zeros, without an error (95 of 95 random cases; "
        "tests/test_findings.py).",
    ),
    _robustness(
        "coordinate-negative-inf",
        "mindspore",
        "output",
        "MindSpore returns numbers (NaN/Inf among them) for a roi with a -inf coordinate, without an error.",
    ),
    _undefined("coordinate-nan", "of 19 cases with a NaN in x1, y1, x2 or y2, 8 died (SIGSEGV: x1 5, x2 2, y1 1), 10 returned numbers, 1 raised"),
    _undefined("coordinate-inf", "of 27 cases with +inf in one coordinate, 5 died (SIGSEGV, in every column), 18 returned numbers, 4 raised"),
    _undefined("coordinate-negative-inf", "of 24 cases with -inf in one coordinate, 3 died (SIGSEGV: x1 1, y1 2), 19 returned numbers, 2 raised"),
    _undefined("batch-index-nan", "of 8 cases with a NaN batch index, 1 died (SIGSEGV), 7 returned numbers"),
    _undefined("batch-index-inf", "of 5 cases with a +inf batch index, 1 died (SIGSEGV), 4 returned numbers"),
    _undefined("batch-index-negative-inf", "of 8 cases with a -inf batch index, 1 died (SIGSEGV), 7 returned numbers"),
)

DIVERGENCES = DIVERGENCES + RANDOM_FINDINGS
