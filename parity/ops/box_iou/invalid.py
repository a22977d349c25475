"""The ``invalid`` suite: input outside a framework's documented box_iou, to record how each reacts.

A framework that raises where the other returns numbers is itself a parity difference for a
migration.  Each case differs from a valid call in one respect (parity.ops.box_iou.domain says
which framework's documentation it leaves) and is judged on behaviour (raises / returns output /
crashes / hangs) and on the declared predictions of what a framework returns there.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from numpy.typing import ArrayLike

from parity.engine.model import Case, Port
from parity.ops.box_iou.signature import Attrs

GOOD1 = [[0, 0, 2, 2], [1, 1, 3, 3]]
GOOD2 = [[1, 1, 3, 3], [0, 0, 1, 1]]


def _case(name: str, boxes1: ArrayLike, boxes2: ArrayLike | None = None, attrs: Attrs | None = None, port: Port = Port.MAPPED) -> Case:
    b2 = np.array(GOOD2, np.float32) if boxes2 is None else np.asarray(boxes2)
    inputs = {"boxes1": np.asarray(boxes1), "boxes2": b2}
    return Case(f"box_iou[invalid]-{name}", "invalid", attrs or Attrs(), inputs, port, ("invalid", name), op="box_iou")


def _with(**changes: float) -> np.ndarray:
    """The good boxes1 with one coordinate of its first box replaced, e.g. ``_with(x2=np.nan)``."""
    b = np.array(GOOD1, np.float32)
    for key, value in changes.items():
        b[0, ("x1", "y1", "x2", "y2").index(key)] = value
    return b


def invalid_cases() -> Iterator[Case]:
    good = np.array(GOOD1, np.float32)
    yield _case("boxes1-3-columns", good[:, :3])
    yield _case("boxes2-5-columns", good, np.pad(np.array(GOOD2, np.float32), ((0, 0), (0, 1))))
    yield _case("boxes1-1d", good[0])
    yield _case("boxes-3d", good[None], np.array(GOOD2, np.float32)[None])
    yield _case("dtype-mismatch", good, np.array(GOOD2, np.float64))
    yield _case("integer-int32", good.astype(np.int32), np.array(GOOD2, np.int32))
    yield _case("integer-int64", good.astype(np.int64), np.array(GOOD2, np.int64))
    yield _case("mode-giou", good, attrs=Attrs("giou"))
    yield _case("coordinate-nan", _with(x2=np.nan))
    yield _case("coordinate-inf", _with(x2=np.inf))
    yield _case("inverted", _with(x1=2, y1=2, x2=0, y2=0))
    yield _case("degenerate-zero-area", np.array([[1, 1, 1, 1]], np.float32), np.array([[1, 1, 1, 1]], np.float32))
    yield _case("degenerate-zero-width-iof", np.array([[1, 1, 1, 3]], np.float32), np.array([[0, 0, 2, 2]], np.float32), Attrs("iof"))
    yield _case("negative-coordinates", np.array([[-3, -3, -1, -1]], np.float32), np.array([[-2, -2, 0, 0]], np.float32))
