"""Divergences of the extra runners, ONNX Runtime and Paddle (parity.ops.roi_align.runners.onnxruntime,
parity.ops.roi_align.runners.paddle), against the reference and against torchvision.

``OTHER_FRAMEWORKS``: their defaults, float16 handling, empty and negative adaptive grids and Paddle's
gradient clamp; ``FLOAT32_SCALE``: the float32 ``spatial_scale`` both document.  Apart from the
torchvision -> MindSpore catalogue, so that the default run's divergences read on their own.
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Condition, Divergence, Prediction
from parity.engine.model import Port

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



FLOAT32_SCALE: tuple[Divergence, ...] = (
    _float32_scale("onnxruntime", "The ONNX RoiAlign spec declares"),
    _float32_scale("paddle", "paddle.vision.ops.roi_align documents"),
)
