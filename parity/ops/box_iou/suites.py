"""box_iou's case families: the first example, the standard grid, edges of the documented domain,
and a seeded random suite.  Every case's arrays derive from its id (parity.engine.seeds)."""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from parity.engine.model import Case, Port
from parity.ops.box_iou.signature import Attrs
from parity.engine.seeds import seed_of

DT = {"float16": "f16", "float32": "f32", "float64": "f64"}
DTYPES = tuple(DT)
PORTS = (Port.MAPPED, Port.DEFAULTS, Port.TRANSLATED)
#: The example that shows the difference at once (boxes two and one units wide).
NOTE_BOXES1 = [[0, 0, 2, 2], [1, 1, 3, 3]]
NOTE_BOXES2 = [[1, 1, 3, 3], [0, 0, 1, 1]]


def _boxes(rng: np.random.Generator, n: int, lo: float, hi: float, wmin: float, wmax: float) -> np.ndarray:
    """``n`` boxes inside the documented domain (0 <= x1 < x2, 0 <= y1 < y2)."""
    x1, y1 = rng.uniform(lo, hi, n), rng.uniform(lo, hi, n)
    w, h = rng.uniform(wmin, wmax, n), rng.uniform(wmin, wmax, n)
    return np.stack([x1, y1, x1 + w, y1 + h], axis=1)


#: family -> (N, M, boxes generator(rng, n))
FAMILIES: dict[str, tuple[int, int, Callable[[np.random.Generator, int], np.ndarray]]] = {
    "integer": (6, 5, lambda rng, n: np.round(_boxes(rng, n, 0, 16, 1, 12))),
    "subpixel": (5, 4, lambda rng, n: _boxes(rng, n, 0, 3, 0.05, 2)),
    "detector": (8, 6, lambda rng, n: _boxes(rng, n, 0, 600, 8, 300)),
    "nested": (4, 4, lambda rng, n: np.array([[10 - i, 10 - i, 12 + i, 12 + i] for i in range(n)], float)),
}


def case(case_id: str, suite: str, attrs: Attrs, boxes1: np.ndarray, boxes2: np.ndarray, dtype: str, port: Port, tags: tuple[str, ...]) -> Case:
    inputs = {"boxes1": np.asarray(boxes1, dtype=dtype).reshape(-1, 4), "boxes2": np.asarray(boxes2, dtype=dtype).reshape(-1, 4)}
    return Case(case_id, suite, attrs, inputs, port, (*tags, dtype, port.value), op="box_iou")


def _id(attrs: Attrs, dtype: str, port: Port, what: str) -> str:
    return f"box_iou[{attrs.label()}]-{DT[dtype]}-{port.value}-{what}"


def _family(suite: str, name: str, attrs: Attrs, dtype: str, port: Port) -> Case:
    n, m, make = FAMILIES[name]
    case_id = _id(attrs, dtype, port, f"{name}-{n}x{m}")
    rng = np.random.default_rng(seed_of(case_id.replace(f"-{port.value}-", "-")))  # same boxes for every port
    return case(case_id, suite, attrs, make(rng, n), make(rng, m), dtype, port, (suite, name))


def seed_cases() -> Iterator[Case]:
    for port in PORTS:
        yield case(_id(Attrs(), "float32", port, "note"), "seed", Attrs(), np.array(NOTE_BOXES1), np.array(NOTE_BOXES2), "float32", port, ("seed",))


def standard_cases() -> Iterator[Case]:
    yield from seed_cases()
    for dtype in DTYPES:
        for port in PORTS:
            for name in FAMILIES:
                yield _family("standard", name, Attrs(), dtype, port)
    for name in FAMILIES:  # MindSpore's iof mode, judged against its documentation (torchvision has none)
        yield _family("standard", name, Attrs("iof"), "float32", Port.MAPPED)


def _edge_inputs() -> Iterator[tuple[str, list[list[float]], list[list[float]]]]:
    yield "empty-boxes1", [], [[0, 0, 1, 1]]
    yield "empty-both", [], []
    yield "identical", [[2, 3, 7, 9]], [[2, 3, 7, 9]]
    yield "touching-edge", [[0, 0, 2, 2]], [[2, 0, 4, 2]]
    yield "touching-corner", [[0, 0, 2, 2]], [[2, 2, 4, 4]]
    yield "disjoint", [[0, 0, 1, 1]], [[5, 5, 6, 6]]
    yield "contained", [[0, 0, 10, 10]], [[2, 2, 3, 3]]
    yield "tiny", [[0, 0, 0.001, 0.001]], [[0, 0, 0.001, 0.002]]
    yield "wide-thin", [[0, 0, 1000, 0.5]], [[500, 0, 1500, 0.5]]
    yield "far-from-origin", [[30000, 30000, 30010, 30010]], [[30005, 30005, 30015, 30015]]
    yield "huge", [[1e6, 1e6, 1e6 + 64, 1e6 + 64]], [[1e6 + 32, 1e6, 1e6 + 96, 1e6 + 64]]


def edge_cases() -> Iterator[Case]:
    for name, b1, b2 in _edge_inputs():
        for dtype in DTYPES:
            with np.errstate(over="ignore"):  # a huge coordinate overflows the narrow dtype: that is the test
                representable = np.isfinite(np.asarray(b1 + b2, dtype=np.float64).astype(dtype)).all()
            if not representable:
                continue  # not representable in this dtype: outside every documented domain
            for port in (Port.MAPPED, Port.TRANSLATED):
                yield case(_id(Attrs(), dtype, port, name), "edge", Attrs(), np.array(b1), np.array(b2), dtype, port, ("edge", name))


def random_cases(budget: int, seed: int) -> Iterator[Case]:
    for i in range(budget):
        probe = np.random.default_rng(seed_of(f"box_iou-random-s{seed}-{i}"))
        dtype = DTYPES[int(probe.integers(0, len(DTYPES)))]
        port = PORTS[int(probe.integers(0, len(PORTS)))]
        n, m = (int(v) for v in probe.integers(1, 12, 2))
        scale = float(10 ** probe.uniform(-1, 3))
        case_id = _id(Attrs(), dtype, port, f"random-s{seed}-{i}-{n}x{m}")
        rng = np.random.default_rng(seed_of(case_id))
        b1, b2 = (_boxes(rng, k, 0, 4 * scale, scale / 20, 2 * scale) for k in (n, m))
        yield case(case_id, "random", Attrs(), b1, b2, dtype, port, ("random",))


RANDOM_BUDGET, RANDOM_SEED = 200, 0
