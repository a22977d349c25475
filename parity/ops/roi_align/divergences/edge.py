"""Divergences at the edge of the domain (the ``edge`` suite) and in float16 accumulation.

``EDGE``: batch indices just past the last image, inverted rois, NaN at the origin pixel, float16 sums
past 65504; ``PRECISION``: a float16 running sum that stagnates.  Inputs a detection model can produce
but a typical test does not, so they get their own module apart from the everyday mapping.
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Condition, Divergence, Prediction

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
