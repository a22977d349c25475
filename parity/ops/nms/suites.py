"""nms's case families: the migration note's example, the standard grid, edges of the documented
domain, and a seeded random suite.  Every case's arrays derive from its id (parity.engine.seeds)."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike

from parity.engine.model import Case, Port
from parity.engine.seeds import seed_of
from parity.ops.nms.signature import Attrs

DT = {"float16": "f16", "float32": "f32", "float64": "f64"}
DTYPES = ("float16", "float32")
PORTS = (Port.MAPPED, Port.TRANSLATED)
THRESHOLDS = (0.0, 0.3, 0.5, 0.7, 1.0)
SIZES = (1, 10, 30, 200)
#: The migration note's example (torchvision prints tensor([0, 2, 3])).
NOTE_BOXES = [[0, 0, 4, 4], [0, 0, 3, 3], [0, 0, 2, 2], [0, 0, 1, 1]]
NOTE_SCORES = [0.8, 0.7, 0.6, 0.5]
NOTE_THRESHOLD = 0.4
#: MindSpore's NMSWithMask docstring example ((x, y, w, h) rows made corners; prints [0 1 2]).
DOC_BBOX = [[100.0, 100.0, 50.0, 68.0, 0.63], [150.0, 75.0, 165.0, 115.0, 0.55], [12.0, 190.0, 288.0, 200.0, 0.9], [28.0, 130.0, 106.0, 172.0, 0.3]]
#: MindSpore documents that Ascend takes at most this many boxes at once (CPU has no limit).
ASCEND_LIMIT = 2864


def case(case_id: str, suite: str, attrs: Attrs, boxes: ArrayLike, scores: ArrayLike, dtype: str, port: Port, tags: tuple[str, ...], idxs: ArrayLike | None = None) -> Case:
    inputs = {"boxes": np.asarray(boxes, dtype=dtype).reshape(-1, 4), "scores": np.asarray(scores, dtype=dtype).reshape(-1)}
    if attrs.batched:
        inputs["idxs"] = np.asarray(idxs, dtype=np.int64).reshape(-1)
    return Case(case_id, suite, attrs, inputs, port, (*tags, dtype, port.value), op="nms")


def _id(attrs: Attrs, dtype: str, port: Port, what: str) -> str:
    return f"nms[{attrs.label()}]-{DT[dtype]}-{port.value}-{what}"


def detector_boxes(rng: np.random.Generator, n: int, lo: float = 0, hi: float = 100, wmin: float = 5, wmax: float = 50) -> np.ndarray:
    xy = rng.uniform(lo, hi, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(wmin, wmax, (n, 2))], axis=1)


def _random_case(suite: str, attrs: Attrs, dtype: str, port: Port, n: int, classes: int = 3) -> Case:
    case_id = _id(attrs, dtype, port, f"detector-{n}")
    rng = np.random.default_rng(seed_of(case_id.replace(f"-{port.value}-", "-")))  # the same boxes for every port
    idxs = rng.integers(0, classes, n) if attrs.batched else None
    return case(case_id, suite, attrs, detector_boxes(rng, n), rng.uniform(0, 1, n), dtype, port, (suite, "detector"), idxs)


def seed_cases() -> Iterator[Case]:
    for port in PORTS:
        yield case(_id(Attrs(NOTE_THRESHOLD), "float32", port, "note"), "seed", Attrs(NOTE_THRESHOLD), NOTE_BOXES, NOTE_SCORES, "float32", port, ("seed", "note"))
        doc = np.array(DOC_BBOX)
        doc[:, 2] += doc[:, 0]
        doc[:, 3] += doc[:, 1]
        yield case(_id(Attrs(0.1), "float32", port, "docstring"), "seed", Attrs(0.1), doc[:, :4], doc[:, 4], "float32", port, ("seed", "docstring"))


def standard_cases() -> Iterator[Case]:
    yield from seed_cases()
    for dtype in DTYPES:
        for port in PORTS:
            for t in THRESHOLDS:
                for n in SIZES:
                    yield _random_case("standard", Attrs(t), dtype, port, n)
            yield case(_id(Attrs(), dtype, port, "empty"), "standard", Attrs(), np.zeros((0, 4)), np.zeros(0), dtype, port, ("standard", "empty"))
            yield _random_case("standard", Attrs(), dtype, port, 2000)
            for n in (30, 200, 1500):  # torchvision's CPU batched_nms goes per class above 1000 boxes
                yield _random_case("standard", Attrs(0.5, batched=True), dtype, port, n)


def _edge_inputs() -> Iterator[tuple[str, float, Sequence[Sequence[float]], Sequence[float]]]:
    """(name, threshold, boxes, scores)."""
    yield "duplicates", 0.5, [[0, 0, 10, 10]] * 3 + [[20, 20, 30, 30]], [0.9, 0.8, 0.7, 0.6]
    yield "duplicates-equal-scores", 0.5, [[0, 0, 10, 10]] * 3, [0.5, 0.5, 0.5]
    yield "equal-scores-chain", 0.3, [[0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10], [15, 0, 25, 10], [20, 0, 30, 10]], [0.5] * 5
    yield "iou-exactly-0.5", 0.5, [[0, 0, 2, 1], [0, 0, 1, 1]], [0.9, 0.8]
    yield "iou-exactly-0.3-float32-rounded", 0.3, [[0, 0, 10, 1], [0, 0, 3, 1]], [0.9, 0.8]
    yield "iou-just-above-0.5", 0.5, [[0, 0, 2, 1], [0, 0, 1.0009765625, 1]], [0.9, 0.8]
    yield "threshold-0-disjoint", 0.0, [[0, 0, 1, 1], [2, 2, 3, 3]], [0.9, 0.8]
    yield "threshold-0-touching", 0.0, [[0, 0, 1, 1], [1, 0, 2, 1]], [0.9, 0.8]
    yield "threshold-1-identical", 1.0, [[0, 0, 5, 5], [0, 0, 5, 5]], [0.9, 0.8]
    yield "zero-area", 0.5, [[3, 3, 3, 3], [0, 0, 6, 6], [3, 3, 3, 3]], [0.9, 0.8, 0.7]
    yield "inverted", 0.5, [[10, 10, 0, 0], [0, 0, 10, 10], [1, 1, 9, 9]], [0.9, 0.8, 0.7]
    yield "touching", 0.5, [[0, 0, 1, 1], [1, 0, 2, 1], [0, 1, 1, 2]], [0.9, 0.8, 0.7]
    yield "nan-score", 0.5, [[0, 0, 10, 10], [1, 1, 11, 11], [30, 30, 40, 40]], [0.5, float("nan"), 0.9]
    yield "inf-scores", 0.5, [[0, 0, 10, 10], [1, 1, 11, 11], [30, 30, 40, 40], [31, 31, 41, 41]], [float("inf"), 0.5, float("-inf"), 0.7]
    yield "inf-score-padded", 0.5, [[0, 0, 10, 10], [1, 1, 11, 11], [30, 30, 40, 40]], [float("inf"), 0.5, 0.7]
    yield "nan-coordinate", 0.5, [[0, 0, 10, 10], [0, 0, float("nan"), 10], [1, 1, 11, 11]], [0.9, 0.8, 0.7]
    yield "inf-coordinate", 0.5, [[0, 0, 10, 10], [0, 0, float("inf"), 10], [1, 1, 11, 11]], [0.9, 0.8, 0.7]


def edge_cases() -> Iterator[Case]:
    for name, t, boxes, scores in _edge_inputs():
        for dtype in DTYPES:
            for port in PORTS:
                yield case(_id(Attrs(t), dtype, port, name), "edge", Attrs(t), np.array(boxes, float), np.array(scores, float), dtype, port, ("edge", name))
    for n in (ASCEND_LIMIT, ASCEND_LIMIT + 1):  # MindSpore's documented Ascend limit, as an input domain on CPU
        for port in PORTS:
            c = _random_case("edge", Attrs(0.5), "float32", port, n)
            yield case(c.id.replace("detector", "ascend-limit"), "edge", c.attrs, c.inputs["boxes"], c.scores, "float32", port, ("edge", "ascend-limit"))


def disagreement_cases() -> Iterator[Case]:
    """The measurement behind the report of MindSpore's kept set differing on 120 of 200 sets: 200
    sets of 30 float32 boxes (x1, y1 ~ U(0, 100), w, h ~ U(0, 50), scores ~ U(0, 1)) at threshold
    0.5, called as the note writes it; every difference must be a declared divergence."""
    for k in range(200):
        case_id = _id(Attrs(0.5), "float32", Port.MAPPED, f"disagreement-{k}")
        rng = np.random.default_rng(seed_of(case_id))
        yield case(case_id, "disagreement", Attrs(0.5), detector_boxes(rng, 30, 0, 100, 0, 50), rng.uniform(0, 1, 30), "float32", Port.MAPPED, ("disagreement",))


def invalid_cases() -> Iterator[Case]:
    """One case per kind of bad input, each differing from a valid call in one respect: judged on
    how each framework reacts (raises, or silent output where the documented semantics have none)."""
    good_boxes, good_scores = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [30, 30, 40, 40]], np.float32), np.array([0.9, 0.8, 0.7], np.float32)

    def bad(name: str, boxes: np.ndarray = good_boxes, scores: np.ndarray = good_scores, idxs: np.ndarray | None = None) -> Case:
        attrs = Attrs(0.5, batched=idxs is not None)
        inputs = {"boxes": boxes, "scores": scores, **({"idxs": idxs} if idxs is not None else {})}
        return Case(f"nms[invalid]-{name}", "invalid", attrs, inputs, Port.MAPPED, ("invalid", name), op="nms")

    yield bad("boxes-3-columns", boxes=good_boxes[:, :3].copy())
    yield bad("boxes-1d", boxes=good_boxes[0].copy())
    yield bad("scores-n-by-1", scores=good_scores[:, None].copy())  # the migration note's "(N, 1)"
    yield bad("scores-too-short", scores=good_scores[:2].copy())
    yield bad("integer-boxes", boxes=good_boxes.astype(np.int32), scores=good_scores)
    yield bad("float64-scores-float32-boxes", scores=good_scores.astype(np.float64))
    yield bad("idxs-too-short", idxs=np.array([0, 1], np.int64))


def random_cases(budget: int, seed: int) -> Iterator[Case]:
    for i in range(budget):
        probe = np.random.default_rng(seed_of(f"nms-random-s{seed}-{i}"))
        dtype = DTYPES[int(probe.integers(0, len(DTYPES)))]
        port = PORTS[int(probe.integers(0, len(PORTS)))]
        attrs = Attrs(float(np.round(probe.uniform(0, 1), 2)), batched=bool(probe.random() < 0.25))
        n = int(probe.integers(1, 60))
        ties = bool(probe.random() < 0.3)
        case_id = _id(attrs, dtype, port, f"random-s{seed}-{i}-{n}{'-ties' if ties else ''}")
        rng = np.random.default_rng(seed_of(case_id))
        boxes = detector_boxes(rng, n, 0, float(10 ** probe.uniform(0, 3)), 1, 50)
        scores = rng.uniform(0, 1, n)
        if ties:
            scores = np.round(scores, 1)
        yield case(case_id, "random", attrs, boxes, scores, dtype, port, ("random",), rng.integers(0, 4, n) if attrs.batched else None)


RANDOM_BUDGET, RANDOM_SEED = 200, 0
