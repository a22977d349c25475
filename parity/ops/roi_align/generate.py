"""Seeded case builders: the seed example and the standard grid.

Every case is declared once here; its id is stable and readable, its seed derives from its
id (so a case regenerates bit for bit on its own), and its features are random normal so
that conventions which sample different points give different numbers.
"""
from __future__ import annotations

import itertools
from collections import Counter
from typing import Callable, Iterator

import numpy as np

from parity.engine.errors import UsageError
from parity.engine.seeds import seed_of
from parity.engine.model import Case, Port
from parity.ops.roi_align.attrs import Attrs

GENERATOR_VERSION = 1
DT = {"float16": "f16", "float32": "f32", "float64": "f64"}

# feature map of the standard grid: batch, channels, height, width
N, C, H, W = 3, 3, 12, 14


def _uniform(rng: np.random.Generator, lo: float | np.ndarray, hi: float | np.ndarray, k: int) -> np.ndarray:
    return rng.uniform(lo, hi, k)


def _inside(rng: np.random.Generator, k: int, h: int, w: int) -> np.ndarray:
    x1, y1 = _uniform(rng, 0, w - 2, k), _uniform(rng, 0, h - 2, k)
    return np.stack([x1, y1, _uniform(rng, x1 + 1, w - 0.01, k), _uniform(rng, y1 + 1, h - 0.01, k)], 1)


def _border(rng: np.random.Generator, k: int, h: int, w: int) -> np.ndarray:
    x1, y1 = _uniform(rng, -3, 1.5, k), _uniform(rng, -3, 1.5, k)
    return np.stack([x1, y1, _uniform(rng, w - 2, w + 3, k), _uniform(rng, h - 2, h + 3, k)], 1)


def _outside(rng: np.random.Generator, k: int, h: int, w: int) -> np.ndarray:
    beyond = rng.random(k) < 0.5
    x1 = np.where(beyond, _uniform(rng, w + 1.5, w + 4, k), _uniform(rng, -9, -6, k))
    y1 = _uniform(rng, 0, h - 2, k)
    return np.stack([x1, y1, x1 + _uniform(rng, 1, 3.5, k), y1 + _uniform(rng, 1, 3, k)], 1)


def _subpixel(rng: np.random.Generator, k: int, h: int, w: int) -> np.ndarray:
    x1, y1 = _uniform(rng, 0, w - 1, k), _uniform(rng, 0, h - 1, k)
    return np.stack([x1, y1, x1 + _uniform(rng, 0.05, 0.9, k), y1 + _uniform(rng, 0.05, 0.9, k)], 1)


def _huge(rng: np.random.Generator, k: int, h: int, w: int) -> np.ndarray:
    return np.stack(
        [_uniform(rng, -w, -1, k), _uniform(rng, -h, -1, k), _uniform(rng, w + 1, 2 * w, k), _uniform(rng, h + 1, 2 * h, k)],
        1,
    )


def _zero_size(rng: np.random.Generator, k: int, h: int, w: int) -> np.ndarray:
    x1, y1 = _uniform(rng, 0, w - 1, k), _uniform(rng, 0, h - 1, k)
    return np.stack([x1, y1, x1, y1], 1)


GEOMETRIES: dict[str, Callable[[np.random.Generator, int, int, int], np.ndarray]] = {
    "inside": _inside,
    "border": _border,
    "outside": _outside,
    "subpixel": _subpixel,
    "huge": _huge,
    "zero-size": _zero_size,
}


def _rois(rng: np.random.Generator, geometry: str, scale: float, batch: int) -> np.ndarray:
    """``[K, 5]`` rois in image coordinates (feature coordinates / scale)."""
    if geometry == "mixed":
        boxes = np.concatenate([g(rng, 2, H, W) for g in GEOMETRIES.values()])
    elif geometry in ("batch", "fractional-batch"):
        boxes = np.concatenate([_inside(rng, 2, H, W) for _ in range(batch)])
    else:
        boxes = GEOMETRIES[geometry](rng, 6, H, W)
    if geometry == "batch":
        index = np.repeat(np.arange(batch), 2)
    elif geometry == "fractional-batch":  # in [0, N-1]: torchvision truncates, a kernel may round
        index = rng.integers(0, batch - 1, len(boxes)) + _uniform(rng, 0.05, 0.95, len(boxes))
    else:
        index = rng.integers(0, batch, len(boxes))
    order = np.argsort(index, kind="stable")  # image-major, as a list of boxes would give
    return np.concatenate([index[order, None].astype(np.float64), boxes[order] / scale], axis=1)


def make_case(
    suite: str, attrs: Attrs, dtype: str, geometry: str, port: Port = Port.MAPPED, boxes: str = "tensor"
) -> Case:
    """Build one case of the standard grid from its declaration."""
    suffix = "" if port is Port.MAPPED else "-ported-with-defaults"
    suffix += "" if boxes == "tensor" else "-boxes-list"
    case_id = f"roi_align[{attrs.label()}]-{DT[dtype]}-{geometry}{suffix}"
    rng = np.random.default_rng(seed_of(case_id))
    features = rng.standard_normal((N, C, H, W)).astype(dtype)
    rois = _rois(rng, geometry, attrs.spatial_scale, N).astype(dtype)
    tags = (geometry, dtype, port.value, f"boxes-{boxes}")
    return Case(case_id, suite, attrs, {"features": features, "rois": rois}, port, tags, boxes)


def seed_cases() -> Iterator[Case]:
    """The MindSpore migration note's example (shared/seed/)."""
    attrs = Attrs((3, 3), 0.25, 2, False)
    features = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32)
    rois = np.array([[0, 0.2, 0.3, 0.2, 0.3]], dtype=np.float32)
    yield Case(f"roi_align[{attrs.label()}]-f32-seed-note", "seed", attrs, {"features": features, "rois": rois}, Port.MAPPED, ("seed",))


SAMPLING = (-1, 0, 1, 2, 4)
OUTPUTS = ((1, 1), (3, 3), (7, 7), (14, 14), (5, 3))
SCALES = (1.0, 0.5, 0.25, 1 / 16, 0.3)
DTYPES = ("float16", "float32", "float64")


def standard_cases() -> Iterator[Case]:
    """The parameter grid: every value of every parameter, each geometry, each dtype."""
    yield from seed_cases()
    for aligned, sr, out, scale in itertools.product((False, True), SAMPLING, OUTPUTS, SCALES):
        yield make_case("standard", Attrs(out, scale, sr, aligned), "float32", "mixed")
    geometries = (*GEOMETRIES, "batch", "fractional-batch")
    for aligned, sr, dtype, geometry in itertools.product((False, True), SAMPLING, DTYPES, geometries):
        yield make_case("standard", Attrs((4, 3), 0.25, sr, aligned), dtype, geometry)
    for dtype, geometry in itertools.product(("float16", "float32"), geometries):
        yield make_case("standard", Attrs((7, 7), 0.25), dtype, geometry, Port.DEFAULTS)
    for aligned, sr in itertools.product((False, True), (-1, 2)):
        yield make_case("standard", Attrs((3, 3), 0.5, sr, aligned), "float32", "batch", boxes="list")
    from parity.ops.roi_align.verdict_cases import verdict_cases

    yield from verdict_cases()


def _edge() -> Iterator[Case]:
    from parity.ops.roi_align.edge import edge_cases

    return edge_cases()


#: The committed golden set (cases/golden/): one case per roi geometry and dtype, the seed
#: example and a few edge cases; small enough to review, checked byte for byte by the tests.
GOLDEN_KEYWORDS = (
    "seed-note",
    "aligned=1,sr=2,out=4x3,s=0.25]-f32-",
    "aligned=0,sr=-1,out=4x3,s=0.25]-f16-border",
    "aligned=1,sr=2,out=3x3,s=1]-f32-edge-",
)


def _invalid() -> Iterator[Case]:
    from parity.ops.roi_align.invalid import invalid_cases

    return invalid_cases()


#: Size and seed of the random suite unless a run says otherwise (--budget, --seed).
RANDOM_BUDGET, RANDOM_SEED = 200, 0


def golden_cases() -> Iterator[Case]:
    cases = [*standard_cases(), *_edge()]
    for c in cases:
        if any(k in c.id for k in GOLDEN_KEYWORDS):
            yield c


SUITES: dict[str, Callable[[], Iterator[Case]]] = {
    "seed": seed_cases,
    "standard": standard_cases,
    "edge": _edge,
    "golden": golden_cases,
    "invalid": _invalid,
}


def matching(cases: list[Case], keyword: str | None) -> list[Case]:
    """Cases the filter ``keyword`` selects (parity.engine.case_filter: a substring of the id, a tag, or
    an expression over attributes; all when None)."""
    from parity.engine.case_filter import matches
    from parity.ops.roi_align.attributes import FILTER_ATTRIBUTES

    selected = matches(keyword, FILTER_ATTRIBUTES)
    return [c for c in cases if selected(c)]


def check_unique(cases: list[Case], where: str) -> None:
    duplicates = sorted(i for i, n in Counter(c.id for c in cases).items() if n > 1)
    if duplicates:
        raise UsageError(f"duplicate case ids in {where}: {duplicates[:3]}; every case id must be unique")


def cases_for(suite: str, keyword: str | None = None, budget: int | None = None, seed: int | None = None) -> list[Case]:
    """A suite's cases, optionally filtered by a substring of the case id or a tag.

    ``budget`` and ``seed`` size and seed the ``random`` suite.
    """
    if suite == "random":
        from parity.ops.roi_align.random_suite import random_cases

        n = RANDOM_BUDGET if budget is None else budget
        return matching(list(random_cases(n, RANDOM_SEED if seed is None else seed)), keyword)
    if suite not in SUITES:
        raise UsageError(f"unknown suite {suite!r}; choose one of: {', '.join([*SUITES, 'random'])}")
    cases = list(SUITES[suite]())
    check_unique(cases, f"suite {suite!r}")
    return matching(cases, keyword)
