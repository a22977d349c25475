"""Measured reactions to invalid input (the ``invalid`` suite): who raises, who returns garbage, who dies.

:func:`reaction` builds one such divergence; the other catalogue modules use it for reactions found
elsewhere (the random suite).  ``ROBUSTNESS``: torchvision and MindSpore; ``OTHER_ROBUSTNESS`` and
``PADDLE_INVALID``: ONNX Runtime and Paddle.  Robustness is a question apart from numeric parity, so
its catalogue is apart too.
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Condition, Divergence, Prediction


def reaction(tag: str, framework: str, behaviour: str, explanation: str, message: str | None = None) -> Divergence:
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
    reaction("batch-index-out-of-range", "torchvision", "output", _GARBAGE),
    reaction("batch-index-negative", "torchvision", "output", _GARBAGE),
    reaction("batch-index-huge", "torchvision", "crash", "torchvision reads far outside the features and the process dies.", "SIGSEGV"),
    reaction("batch-index-nan", "torchvision", "output", "A NaN batch index is cast to an integer without a check."),
    reaction("batch-index-nan", "mindspore", "output", "MindSpore's range check compares the raw float, which NaN passes."),
    reaction("coordinate-nan", "torchvision", "crash", "A NaN coordinate becomes an undefined integer index: the process dies.", "SIGSEGV"),
    reaction("coordinate-nan", "mindspore", "output", "MindSpore returns zeros for a roi with a NaN coordinate, without an error."),
    reaction("coordinate-inf", "torchvision", "output", "torchvision returns NaN/Inf bins for an infinite coordinate, without an error."),
    reaction("coordinate-inf", "mindspore", "output", "MindSpore returns finite values for an infinite coordinate, without an error."),
    reaction("features-3d", "mindspore", "output", "MindSpore accepts 3-D features (rank <= 4 is checked, not == 4) and returns garbage."),
    reaction("features-5d", "torchvision", "output", "torchvision accepts 5-D features and reads them as if 4-D: silent garbage."),
    reaction(
        "output-size-zero",
        "mindspore",
        "raises",
        "An output size of 0 gives torchvision an empty result and MindSpore an error.",
        "pooled_height is zero",
    ),
)

OTHER_ROBUSTNESS: tuple[Divergence, ...] = (
    reaction("coordinate-nan", "paddle", "output", "Paddle does not check roi coordinates: a NaN coordinate gives finite numbers, without an error."),
    reaction("coordinate-inf", "paddle", "output", "Paddle does not check roi coordinates: an infinite coordinate gives zeros, without an error."),
    reaction("output-size-zero", "onnxruntime", "output", "ONNX Runtime returns an empty [K, C, 0, W] result for output_height=0, without an error."),
)

PADDLE_INVALID: tuple[Divergence, ...] = (
    *(
        reaction(tag, "paddle", "raises", f"Paddle rejects {what}, which torchvision accepts.", message)
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
