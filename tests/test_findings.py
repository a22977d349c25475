"""Measurements behind the reference's undocumented MindSpore choices, against the real framework."""
import dataclasses

import numpy as np
import pytest

from parity.model import Attrs, Status
from parity.pool import Worker
from parity.reference import MINDSPORE_END_MODE_0, MINDSPORE_END_MODE_1, roi_align


@pytest.fixture(scope="module")
def mindspore(tmp_path_factory):
    w = Worker("mindspore", tmp_path_factory.mktemp("logs") / "mindspore.log")
    yield w
    w.stop()


def _run(worker: Worker, attrs: Attrs, features: np.ndarray, rois: np.ndarray) -> np.ndarray:
    worker.send({"case_id": "finding", "attrs": attrs.to_json(), "port": "mapped"}, {"features": features, "rois": rois})
    result = worker.receive("finding")
    assert result.status is Status.OK, result.message
    return result.outputs["out"].astype(np.float64)


def _rois(rng, k, kind):
    x1, y1 = rng.uniform(0, 10, k), rng.uniform(0, 8, k)
    if kind == "subpixel":
        dx, dy = rng.uniform(0, 0.6, k), rng.uniform(0, 0.6, k)
    else:  # inverted
        dx, dy = -rng.uniform(0, 3, k), -rng.uniform(0, 3, k)
    return np.stack([rng.integers(0, 2, k), x1, y1, x1 + dx, y1 + dy], 1).astype(np.float32)


@pytest.mark.parametrize("kind", ["subpixel", "inverted"])
def test_roi_end_mode_1_does_not_clamp_the_roi_size(mindspore, kind):
    """MINDSPORE_END_MODE_1_EVIDENCE: without the clamp MindSpore agrees to float32 rounding, with it not at all."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 10, 12)).astype(np.float32)
    rois = _rois(rng, 6, kind)
    attrs = Attrs((3, 4), 0.5, 2, True)  # maps to roi_end_mode=1
    got = _run(mindspore, attrs, x, rois)
    args = (x.astype(np.float64), rois.astype(np.float64), (3, 4), 0.5, 2)
    unclamped = roi_align(*args, MINDSPORE_END_MODE_1)
    clamped = roi_align(*args, dataclasses.replace(MINDSPORE_END_MODE_1, min_size=1.0))
    assert np.max(np.abs(got - unclamped)) < 1e-5
    assert np.max(np.abs(got - clamped)) > 0.1


def test_adaptive_sampling_uses_a_floor_grid_and_no_empty_grid_guard(mindspore):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 10, 12)).astype(np.float32)
    rois = np.array([[0, 1, 1, 9, 8], [0, 2, 2, 2.3, 2.2], [0, 0, 0, 11, 9]], np.float32)
    got = _run(mindspore, Attrs((2, 2), 1.0, 0, False), x, rois)
    documented = roi_align(x, rois, 2, 1.0, 0, MINDSPORE_END_MODE_0)
    measured = dataclasses.replace(MINDSPORE_END_MODE_0, adaptive_grid="floor", empty_grid_nan=True)
    floor = roi_align(x, rois, 2, 1.0, 0, measured)
    assert np.isnan(got[1]).all()  # a 0.3 x 0.2 roi: floor grid 0, 0/0
    np.testing.assert_allclose(got, floor, atol=1e-5)
    assert np.max(np.abs(got[0] - documented[0])) > 0.01


def test_batch_index_rule_is_mindspores_rint_plus_7e5(mindspore):
    """Constant images (image i holds i): the output says which image each batch index picked."""
    from parity.reference import MINDSPORE_END_MODE_0, batch_indices

    n = 5
    features = np.stack([np.full((1, 4, 4), i, np.float32) for i in range(n)])
    b = np.array([0.5, 1.5, 2.5, 3.5, 0.49995, 1.49993, 0.49993, 0.4999, 2.49993, 0.7, 3.9999], np.float32)
    rois = np.stack([b, *(np.full(len(b), v, np.float32) for v in (0.5, 0.5, 2.5, 2.5))], 1)
    picked = _run(mindspore, Attrs((1, 1), 1.0, 1, False), features, rois).ravel()
    rule = dataclasses.replace(MINDSPORE_END_MODE_0, batch_index="round")
    assert picked.tolist() == batch_indices(b.astype(np.float64), rule).tolist()


def test_skipped_rois_hold_the_previous_calls_output(mindspore):
    """mindspore-skips-rois-at-x-zero: the skipped roi is not zeroed; a same-shape call before it left its values."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 6, 7)).astype(np.float32)
    attrs = Attrs((2, 5), 1.0, 2, False)  # an output shape no other test here uses
    normal = np.array([[0, 1, 1, 4, 4], [0, 2, 0, 5, 3]], np.float32)
    skipped = np.array([[0, 1, 1, 4, 4], [0, 0.0, 1, 0.0005, 4]], np.float32)  # roi 1: x1, x2 within 0.001 of 0
    before = _run(mindspore, attrs, 2 * x, normal)
    mindspore_out = _run(mindspore, attrs, x, skipped)
    assert mindspore_out[1].tobytes() == before[1].tobytes()  # bit for bit the previous call's roi 1
    documented = roi_align(x, skipped, (2, 5), 1.0, 2, MINDSPORE_END_MODE_0)
    np.testing.assert_allclose(mindspore_out[0], documented[0], atol=1e-5)  # the other roi is computed
    assert np.max(np.abs(mindspore_out[1] - documented[1])) > 0.1
