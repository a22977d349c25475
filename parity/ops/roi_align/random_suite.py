"""The ``random`` suite: seeded random cases over the whole domain the frameworks accept, ``--budget`` cases.

Case ``i`` of seed ``S`` depends only on (S, i), so any case regenerates on its own and a budget
is a prefix of a larger one.  Each case first draws a *kind*, then its inputs; the kinds put
special values where the frameworks' rules change, because uniform draws almost never land there:

- ``plain``: any shape, dtype, output size, scale and sampling ratio; rois inside, across and
  outside the image, sometimes inverted or of zero size; sometimes ported with MindSpore's
  defaults or passed as strided views.
- ``batch-index``: fractional batch indices at and near the half (``k + 0.5``, ``k + 0.5 +- 1e-4``,
  ``0.49993`` where MindSpore's ``rint(b + 0.00007)`` flips), both signs, and just below ``N``.
- ``float16-large``: float16 with large sampling grids (up to 256 per side) and coordinates
  hundreds of pixels from the origin, where float16 rounding is coarse.
- ``huge-scale``: spatial scales up to 1e30 with rois given so that the window stays on the map
  (tiny image coordinates), with fixed or adaptive sampling.

Robustness kinds: inputs outside the domain (the reference rejects them as undefined).  They are
built like the ``invalid`` suite's cases (suite ``invalid``, tags ``invalid`` plus the same kind
names), so they are judged on behaviour and the reactions declared for the invalid suite apply:

- ``nonfinite``: NaN, +Inf or -Inf in one column (batch index or a coordinate) of one roi;
- ``dtype-mismatch``: rois in another float dtype than the features;
- ``batch-index-out-of-range`` / ``batch-index-negative``: an integer index outside ``[0, N)``;
- ``adaptive-grid-overflow``: a huge scale applied to ordinary image coordinates with adaptive
  sampling, so ``roi_size / output_size`` passes 2**31 and the kernels' integer grid overflows.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np

from parity.ops.roi_align.generate import DT
from parity.engine.seeds import seed_of
from parity.engine.model import Case, Port
from parity.ops.roi_align.attrs import Attrs

DTYPES = ("float32",) * 6 + ("float16", "float64")
SCALES = (1.0, 0.5, 0.25, 1 / 16, 1 / 32)
#: kind -> weight (of 100)
KINDS: dict[str, int] = {
    "plain": 52,
    "batch-index": 12,
    "float16-large": 10,
    "huge-scale": 6,
    "nonfinite": 6,
    "dtype-mismatch": 5,
    "batch-index-out-of-range": 2,
    "batch-index-negative": 2,
    "adaptive-grid-overflow": 5,
}
ROBUSTNESS = frozenset({"nonfinite", "dtype-mismatch", "batch-index-out-of-range", "batch-index-negative", "adaptive-grid-overflow"})
#: Fractional parts of a batch index where truncation, rounding and MindSpore's rint(b + 0.00007) part ways.
FRACTIONS = (0.0, 0.5, 0.5 - 1e-4, 0.5 + 1e-4, 0.5 - 7e-5, 0.49993, 0.49995, 0.50005, 0.3, 0.7, 0.99999, 1e-5)
COLUMNS = ("b", "x1", "y1", "x2", "y2")
#: The most samples (rois x channels x bins x grid) a float16-large case reads: one bin of the largest grid.
FLOAT16_LARGE_SAMPLES = 256 * 256


def _kind(rng: np.random.Generator) -> str:
    names = list(KINDS)
    weights = np.array([KINDS[k] for k in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def _rois(rng: np.random.Generator, k: int, n: int, img_w: float, img_h: float, odd: bool = True) -> np.ndarray:
    """Rois in image coordinates: inside, across the border or outside; with ``odd``, sometimes
    inverted or of zero size (outside torchvision's documented domain, but accepted)."""
    x1 = rng.uniform(-0.25 * img_w, 1.1 * img_w, k)
    y1 = rng.uniform(-0.25 * img_h, 1.1 * img_h, k)
    x2 = x1 + rng.uniform(0, 1.2, k) * img_w
    y2 = y1 + rng.uniform(0, 1.2, k) * img_h
    if odd:
        shape = rng.choice(["normal", "inverted", "zero"], k, p=[0.85, 0.08, 0.07])
        x2 = np.where(shape == "inverted", x1 - rng.uniform(0, 0.3, k) * img_w, np.where(shape == "zero", x1, x2))
        y2 = np.where(shape == "inverted", y1 - rng.uniform(0, 0.3, k) * img_h, np.where(shape == "zero", y1, y2))
    return np.stack([rng.integers(0, n, k).astype(np.float64), x1, y1, x2, y2], 1)


def _attrs(rng: np.random.Generator, scale: float, sampling: tuple[int, ...], out_max: int = 8) -> Attrs:
    out = (int(rng.integers(1, out_max + 1)), int(rng.integers(1, out_max + 1)))
    return Attrs(out, scale, int(rng.choice(sampling)), bool(rng.integers(0, 2)))


def _within_samples(k: int, c: int, attrs: Attrs, side: int) -> tuple[int, int, Attrs]:
    """Rois, channels and bins cut down (in that order) so that a case reads at most
    FLOAT16_LARGE_SAMPLES samples in all.

    What a large grid shows, a float16 sum rounding coarsely or overflowing, happens within one
    bin of one channel; more rois, channels and bins only multiply the time every framework spends
    (before this cap, this kind's tenth of the suite took nine tenths of the reference's time and
    half of the frameworks').  An adaptive grid is at most ``side`` samples per side here.
    """
    grid = attrs.sampling_ratio if attrs.sampling_ratio > 0 else side
    per_bin = grid * grid
    (ph, pw) = attrs.output_size
    while k * c * ph * pw * per_bin > FLOAT16_LARGE_SAMPLES and (k, c, ph, pw) != (1, 1, 1, 1):
        if k > 1:
            k -= 1
        elif c > 1:
            c -= 1
        elif ph >= pw:
            ph -= 1
        else:
            pw -= 1
    return k, c, dataclasses.replace(attrs, output_size=(ph, pw))


def _scale(rng: np.random.Generator) -> float:
    return float(rng.choice(SCALES)) if rng.random() < 0.7 else float(np.round(rng.uniform(0.05, 4.0), 4))


def random_case(seed: int, index: int) -> Case:
    """Case ``index`` of the random suite with ``seed``."""
    rng = np.random.default_rng([seed, index])
    kind = _kind(rng)
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    h, w = int(rng.integers(1, 25)), int(rng.integers(1, 25))
    k = int(rng.integers(1, 9))
    dtype = str(rng.choice(DTYPES))
    rois_dtype = dtype
    port, layout = Port.MAPPED, "contiguous"
    extra: tuple[str, ...] = ()
    if kind == "plain":
        attrs = _attrs(rng, _scale(rng), (-1, 0, 1, 2, 3, 4, 6))
        rois = _rois(rng, k, n, w / attrs.spatial_scale, h / attrs.spatial_scale)
        port = Port.DEFAULTS if rng.random() < 0.1 else Port.MAPPED
        layout = "non-contiguous" if rng.random() < 0.05 else "contiguous"
    elif kind == "batch-index":
        n = int(rng.integers(2, 4))
        dtype = str(rng.choice(["float32", "float32", "float16"]))
        rois_dtype = dtype
        attrs = _attrs(rng, _scale(rng), (-1, 0, 1, 2))
        rois = _rois(rng, k, n, w / attrs.spatial_scale, h / attrs.spatial_scale, odd=False)
        whole = rng.integers(0, n, k).astype(np.float64)
        fraction = np.asarray(FRACTIONS)[rng.integers(0, len(FRACTIONS), k)]
        negative = rng.random(k) < 0.25  # -1 < b < 0: image 0 for truncation
        b = np.where(negative, -fraction, whole + fraction)
        # keep what the case's dtype can hold inside (-1, N): float16 rounds 1.99999 to 2
        held = b.astype(dtype).astype(np.float64)
        rois[:, 0] = np.where((held > -1) & (held < n), b, whole)
    elif kind == "float16-large":
        dtype = rois_dtype = "float16"
        h, w, c = int(rng.integers(8, 49)), int(rng.integers(8, 49)), int(rng.integers(1, 3))
        k = int(rng.integers(1, 5))
        attrs = _attrs(rng, float(rng.choice([1 / 8, 1 / 16, 1 / 32])), (-1, 16, 32, 64, 128, 200, 256), out_max=4)
        k, c, attrs = _within_samples(k, c, attrs, max(h, w))
        rois = _rois(rng, k, n, w / attrs.spatial_scale, h / attrs.spatial_scale, odd=False)
    elif kind == "huge-scale":
        dtype = rois_dtype = str(rng.choice(["float32", "float64"]))
        attrs = _attrs(rng, 1.0, (-1, 0, 1, 2, 4))
        # adaptive sampling: MindSpore's gradient (and roi_end_mode=1) pads the end by 1 before scaling, so
        # a scale s gives ~s / output samples per side; below 1e12 that runs for minutes, above it overflows
        low = 12 if attrs.sampling_ratio <= 0 else 3
        attrs = Attrs(attrs.output_size, float(10.0 ** int(rng.integers(low, 31))), attrs.sampling_ratio, attrs.aligned)
        rois = _rois(rng, k, n, w / attrs.spatial_scale, h / attrs.spatial_scale, odd=False)
    elif kind == "adaptive-grid-overflow":
        dtype = rois_dtype = "float32"
        attrs = _attrs(rng, float(10.0 ** int(rng.integers(12, 31))), (-1, 0))
        rois = _rois(rng, k, n, w, h, odd=False)  # ordinary image coordinates, then a huge scale
        rois[:, 3:] = np.maximum(rois[:, 3:], rois[:, 1:3] + 1.0)  # >= 1 pixel: the grid passes 2**31
    else:  # robustness kinds built from a plain valid call
        if dtype == "float64":
            dtype = "float32"
        attrs = _attrs(rng, _scale(rng), (-1, 0, 1, 2))
        rois = _rois(rng, k, n, w / attrs.spatial_scale, h / attrs.spatial_scale, odd=False)
        rois_dtype = dtype
        if kind == "nonfinite":
            column = int(rng.integers(0, 5))
            value = float(rng.choice([np.nan, np.inf, -np.inf]))
            rois[int(rng.integers(0, k)), column] = value
            name = "nan" if np.isnan(value) else ("inf" if value > 0 else "negative-inf")
            base = "batch-index" if column == 0 else "coordinate"
            kind = f"{base}-{name}"
            extra = (f"{name}-in-{COLUMNS[column]}",)
        elif kind == "dtype-mismatch":
            rois_dtype = str(rng.choice([d for d in ("float16", "float32", "float64") if d != dtype]))
        elif kind == "batch-index-out-of-range":
            rois[int(rng.integers(0, k)), 0] = n + int(rng.integers(0, 3))
        elif kind == "batch-index-negative":
            rois[int(rng.integers(0, k)), 0] = -int(rng.integers(1, 3))
    robust = kind not in ("plain", "batch-index", "float16-large", "huge-scale")
    mixed = f"-rois-{DT[rois_dtype]}" if rois_dtype != dtype else ""
    case_id = f"roi_align[{attrs.label()}]-{DT[dtype]}{mixed}-random-{kind}-s{seed}-{index}"
    features = np.random.default_rng(seed_of(case_id)).standard_normal((n, c, h, w))
    tags = ("invalid", kind, *extra, "random", dtype) if robust else ("random", kind, dtype)
    return Case(
        case_id,
        "invalid" if robust else "random",
        attrs,
        {"features": features.astype(dtype), "rois": rois.astype(rois_dtype)},
        port=port,
        tags=tags,
        layout=layout,
    )


def random_cases(budget: int, seed: int) -> Iterator[Case]:
    for i in range(budget):
        yield random_case(seed, i)
