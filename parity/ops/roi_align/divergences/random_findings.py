"""Divergences found by the random suite's wider domain (parity.ops.roi_align.random_suite).

``RANDOM_FINDINGS``: negative fractional batch indices, mixed dtypes, adaptive grids that overflow
int32, and torchvision's undefined behaviour on non-finite roi values.  Each came out of
``parity run --suite random``; kept apart so that the suite's findings can be traced to it.
"""
from __future__ import annotations

from parity.ops.roi_align.divergence import Condition, Divergence, Prediction
from parity.ops.roi_align.divergences.robustness import reaction

_UNDEFINED_POSITION = (
    "torchvision's CPU kernel does not check roi values: a non-finite one makes sample positions or the "
    "image index NaN or infinite (inf - inf, 0 * inf), which become undefined integer indices; depending on "
    "where they point the process dies (SIGSEGV) or returns numbers without an error (and where the adaptive "
    "grid sides get opposite signs it raises, as torchvision-raises-on-one-negative-grid-side)."
)


_UNDEFINED_IMAGE_INDEX = (
    "MindSpore's range check compares the raw float batch index, which NaN passes; the NaN then becomes an "
    "undefined integer image index: depending on where it points the process dies (SIGSEGV) or returns numbers "
    "without an error (mindspore-batch-index-nan)."
)


def _undefined(tag: str, figures: str, framework: str = "torchvision", explanation: str = _UNDEFINED_POSITION,
               budget: int = 2000, versions: str = "torch 2.14.1") -> Divergence:
    """A framework's reaction to a non-finite roi value is undefined behaviour: it dies or returns numbers."""
    return Divergence(
        name=f"{framework}-{tag}-undefined",
        scope=(Condition("input.tags", "has", "invalid"), Condition("input.tags", "has", tag)),
        explanation=explanation,
        documented=False,
        evidence=f"Measured with `parity run --suite random --budget {budget}` ({versions}, CPU): {figures}.",
        predictions=(Prediction(framework, behaviour="crash", message="SIGSEGV"), Prediction(framework, behaviour="output")),
        frameworks=(framework,),
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
    reaction(
        "dtype-mismatch",
        "torchvision",
        "raises",
        "torchvision requires rois of the features' dtype ('input should have the same type as rois'); MindSpore "
        "accepts float16 rois with float32 features (and the reverse) and matches the reference for the rois as "
        "given (47 of 109 mixed cases of `parity run --suite random --budget 2000`; it raises for float64 rois).",
        "same type as rois",
    ),
    reaction(
        "adaptive-grid-overflow",
        "torchvision",
        "output",
        "With adaptive sampling and roi_size / output_size above 2**31 the integer grid overflows (INT_MIN): the "
        "sampling loops run zero times and torchvision returns zeros, without an error (95 of 95 random cases; "
        "tests/test_findings.py).",
    ),
    reaction(
        "adaptive-grid-overflow",
        "mindspore",
        "output",
        "With adaptive sampling and roi_size / output_size above 2**31 MindSpore's floor grid overflows (INT_MIN): "
        "the sampling loops run zero times and it returns zeros, without an error (95 of 95 random cases; "
        "tests/test_findings.py).",
    ),
    reaction(
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
    _undefined(
        "batch-index-nan",
        "of 41 cases with a NaN batch index, 1 died (SIGSEGV: '...-random-batch-index-nan-s0-3153', and its shrunk "
        "form, 2x1x23x17 features and one roi, dies every time), 40 returned numbers",
        "mindspore", _UNDEFINED_IMAGE_INDEX, 10000, "mindspore 2.10.0",
    ),
)
