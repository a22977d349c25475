"""The ``edge`` suite: degenerate geometry, extreme values and special floats.

Every case is declared here once, with a name that says what it probes; rois are given in
feature-map pixels and converted to image coordinates with the case's spatial scale.
"""
from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np

from parity.ops.roi_align.generate import DT
from parity.engine.seeds import seed_of
from parity.engine.model import Case
from parity.ops.roi_align.attrs import Attrs

N, C, H, W = 2, 3, 8, 10

#: name -> rois in feature pixels (batch index, x1, y1, x2, y2)
GEOMETRY: dict[str, list[list[float]]] = {
    "zero-size": [[0, 2, 3, 2, 3], [1, 5.5, 1.25, 5.5, 1.25], [0, 0, 0, 0, 0.5]],
    "inverted": [[0, 6, 5, 2, 1], [1, 4.5, 3, 4, 7], [0, 9, 2, 1, 6]],
    "subpixel": [[0, 2.1, 3.2, 2.3, 3.25], [1, 7.9, 0.1, 8.0, 0.4]],
    "huge": [[0, -40, -30, 50, 45], [1, -5, -5, 100, 80]],
    "on-border": [[0, 0, 0, W - 1, H - 1], [1, 0, 0, W, H], [0, -1, -1, W, H], [1, W - 1, H - 1, W, H]],
    "on-pixel-centres": [[0, 1, 2, 5, 6], [1, 0, 0, 3, 3], [0, 2.5, 1.5, 6.5, 5.5]],
    "corners-near-zero": [[0, 0.0, 1.0, 0.0, 4.0], [1, 0.0004, 2.0, -0.0003, 5.0], [0, 0.0005, 0.0, 0.0008, 3.0]],
    "every-image": [[0, 1, 1, 6, 5], [1, 1, 1, 6, 5]],
    "fractional-batch-index": [[0.7, 1, 1, 6, 5], [0.4, 2, 2, 7, 6], [1.2, 0, 3, 5, 7]],
}


def _case(name: str, attrs: Attrs, dtype: str, rois_px: list[list[float]], features: np.ndarray | None = None) -> Case:
    case_id = f"roi_align[{attrs.label()}]-{DT[dtype]}-edge-{name}"
    rng = np.random.default_rng(seed_of(case_id))
    if features is None:
        features = rng.standard_normal((N, C, H, W))
    rois = np.array(rois_px, dtype=np.float64)
    rois[:, 1:] /= attrs.spatial_scale
    return Case(case_id, "edge", attrs, {"features": features.astype(dtype), "rois": rois.astype(dtype)}, tags=("edge", name, dtype))


def _extremes(rng: np.random.Generator) -> dict[str, tuple[str, np.ndarray]]:
    base = rng.standard_normal((N, C, H, W))
    special = base.copy()
    special[0, 0, 2, 3] = np.nan
    special[1, 1, 4, 4] = np.inf
    special[0, 2, 5, 7] = -np.inf
    origin_nan = base.copy()
    origin_nan[:, :, 0, 0] = np.nan  # the pixel torchvision's kernel reads (with weight 0) for out-of-image samples
    return {
        "huge-values": ("float32", base * 1e30),
        "tiny-values": ("float32", base * 1e-30),
        "subnormals": ("float32", base * 1e-41),
        "nan-inf-pixels": ("float32", special),
        "nan-at-origin": ("float32", origin_nan),
        "float16-near-max": ("float16", np.clip(base * 3e4, -65000, 65000)),
        "float16-subnormals": ("float16", base * 1e-6),
    }


def edge_cases() -> Iterator[Case]:
    """Degenerate geometry under both conventions and both sampling modes, then extreme values."""
    for (name, rois), aligned, sr in itertools.product(GEOMETRY.items(), (False, True), (2, -1)):
        yield _case(name, Attrs((3, 3), 1.0, sr, aligned), "float32", rois)
    for scale, name in ((4.0, "large-scale"), (1 / 64, "tiny-scale")):
        for aligned in (False, True):
            yield _case(name, Attrs((3, 3), scale, 2, aligned), "float32", [[0, 1, 1, 7, 6], [1, -0.5, 2, 9.5, 7.5]])
    # adaptive sampling with rois far smaller and far larger than the output grid
    for aligned, sr, out in itertools.product((False, True), (-1, 0), ((2, 2), (14, 14))):
        rois = [[0, 1, 1, 1.4, 1.3], [1, -20, -20, 60, 50], [0, 2, 2, 5, 4]]
        yield _case("adaptive-extremes", Attrs(out, 1.0, sr, aligned), "float32", rois)
    rng = np.random.default_rng(seed_of("edge-extremes"))
    roi_set: list[list[float]] = [[0, 0.5, 0.5, 6.5, 5.5], [1, -2, -2, 4, 3], [0, 3, 2, 9.8, 7.9], [1, 8, 6, 12, 10]]
    for (name, (dtype, features)), aligned in itertools.product(_extremes(rng).items(), (False, True)):
        yield _case(name, Attrs((3, 3), 1.0, 2, aligned), dtype, roi_set, features)
