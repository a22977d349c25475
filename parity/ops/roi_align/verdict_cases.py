"""Cases of the standard suite that pin the judging rules, each named for what it guards.

- ``stagnation``: float16 bins of 10^4 or more samples, where a float16 running sum stops
  growing; the frameworks return a tenth of the exact value (declared
  ``float16-accumulation-stagnation``), which no rounding allowance may call PASS.
- ``far-from-origin``: float16 rois a few hundred pixels from the origin, where rounding the
  sampling positions alone moves results by as much as the difference between conventions: the
  comparisons that must tell the conventions apart cannot decide, and must say so.
- ``half-batch-index``: batch indices 0.5, 2.5, 0.49995, where ties and MindSpore's +0.00007
  decide the image (declared ``mindspore-rounds-batch-index``).
- ``batch-index-valid-for-one``: 1.7 in a batch of 2 and -0.9, valid for torchvision's truncation,
  outside the batch for MindSpore's rule: torchvision is judged on its own semantics.
- ``float16-grid-change``: a float16 roi whose adaptive grid float16 arithmetic changes (16.0078
  samples wide exactly, 16.0 in float16: 17 vs 16 columns): the float16 prediction covers both grids.
- ``unevaluable-window-skipped``: aligned=True with a scale of 1e30 on rois within 1e-29 of the
  origin: MindSpore's documented roi_end_mode=1 window is 1e30 pixels wide (no reference can
  sample it), and MindSpore skips every such roi: its output is unspecified, its gradient zero.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from parity.ops.roi_align.generate import DT
from parity.engine.seeds import seed_of
from parity.engine.model import Case, Port
from parity.ops.roi_align.attrs import Attrs


def _case(name: str, attrs: Attrs, dtype: str, features: np.ndarray, rois: list[list[float]], port: Port = Port.MAPPED) -> Case:
    suffix = "" if port is Port.MAPPED else "-ported-with-defaults"
    case_id = f"roi_align[{attrs.label()}]-{DT[dtype]}-{name}{suffix}"
    tags = (name, dtype, port.value, "boxes-tensor")
    return Case(case_id, "standard", attrs, {"features": features.astype(dtype), "rois": np.array(rois, dtype=dtype)}, port, tags)


def _normal(name: str, shape: tuple[int, int, int, int]) -> np.ndarray:
    return np.random.default_rng(seed_of(name)).standard_normal(shape)


def verdict_cases() -> Iterator[Case]:
    constant = np.full((1, 2, 12, 12), 2.0)
    normal = _normal("stagnation", (1, 2, 12, 12))
    for sr in (100, 200, 256):
        yield _case("stagnation", Attrs((1, 1), 1.0, sr, False), "float16", constant, [[0, 1, 1, 11, 11]])
    yield _case("stagnation-normal", Attrs((2, 1), 1.0, 200, True), "float16", normal, [[0, 1, 1, 11, 11], [0, 0.3, 2.2, 7.7, 9.1]])
    far = _normal("far-from-origin", (1, 2, 6, 340))
    rois = [[0, 300.2, 1.1, 306.7, 4.3], [0, 250.4, 0.6, 262.9, 5.2], [0, 318.3, 2.2, 330.1, 4.9]]
    yield _case("far-from-origin", Attrs((3, 3), 1.0, 2, True), "float16", far, rois)
    yield _case("far-from-origin", Attrs((3, 3), 1.0, -1, False), "float16", far, rois, Port.DEFAULTS)
    batch = _normal("half-batch-index", (4, 2, 8, 8))
    rois = [[0.5, 1, 1, 6, 5], [2.5, 2, 1, 7, 6], [0.49995, 1, 2, 5, 7], [1.49993, 0, 0, 4, 4]]
    yield _case("half-batch-index", Attrs((3, 3), 1.0, 2, False), "float32", batch, rois)
    two = _normal("batch-index-valid-for-one", (2, 2, 8, 8))
    for b, label in ((1.7, "1.7"), (-0.9, "minus-0.9")):
        yield _case(f"batch-index-valid-for-one-{label}", Attrs((3, 3), 1.0, 2, False), "float32", two, [[b, 1, 1, 6, 5], [0, 2, 2, 7, 6]])
    grid = _normal("float16-grid-change", (1, 2, 40, 26))
    yield _case("float16-grid-change", Attrs((2, 1), 0.125, -1, False), "float16", grid, [[0, 67.5625, 85.0625, 195.625, 432.5]])
    tiny = _normal("unevaluable-window-skipped", (1, 2, 8, 8))
    rois = [[0, 1e-31, 2e-31, 3e-30, 4e-30], [0, -5.3e-30, 2.6e-30, -7.8e-31, 4.8e-30]]
    yield _case("unevaluable-window-skipped", Attrs((2, 2), 1e30, -1, True), "float32", tiny, rois)
