"""The ``random`` suite: seeded random shapes, parameters and valid rois, ``--budget`` cases.

Valid means inside torchvision's documented domain: batch indices in [0, N), ``0 <= x1 < x2``
within the image, positive output sizes and scales.  Case ``i`` of seed ``S`` depends only on
(S, i), so any case regenerates on its own and a budget is a prefix of a larger one.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from parity.generate import DT, seed_of
from parity.model import Attrs, Case

DTYPES = ("float32",) * 6 + ("float16", "float64")
SCALES = (1.0, 0.5, 0.25, 1 / 16)


def random_case(seed: int, index: int) -> Case:
    """Case ``index`` of the random suite with ``seed``."""
    rng = np.random.default_rng([seed, index])
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    h, w = int(rng.integers(1, 25)), int(rng.integers(1, 25))
    k = int(rng.integers(1, 9))
    dtype = str(rng.choice(DTYPES))
    scale = float(rng.choice(SCALES)) if rng.random() < 0.7 else float(np.round(rng.uniform(0.05, 2.0), 4))
    attrs = Attrs(
        (int(rng.integers(1, 9)), int(rng.integers(1, 9))),
        scale,
        int(rng.choice([-1, 0, 1, 2, 3, 4])),
        bool(rng.integers(0, 2)),
    )
    img_w, img_h = w / scale, h / scale
    x1, y1 = rng.uniform(0, img_w, k), rng.uniform(0, img_h, k)
    x2 = x1 + rng.uniform(0, 1, k) * (img_w - x1)
    y2 = y1 + rng.uniform(0, 1, k) * (img_h - y1)
    rois = np.stack([rng.integers(0, n, k), x1, y1, np.maximum(x2, x1), np.maximum(y2, y1)], 1)
    case_id = f"roi_align[{attrs.label()}]-{DT[dtype]}-random-s{seed}-{index}"
    features = np.random.default_rng(seed_of(case_id)).standard_normal((n, c, h, w))
    return Case(case_id, "random", attrs, features.astype(dtype), rois.astype(dtype), tags=("random", dtype))


def random_cases(budget: int, seed: int) -> Iterator[Case]:
    for i in range(budget):
        yield random_case(seed, i)
