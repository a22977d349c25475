"""Measurements behind the reference's undocumented MindSpore choices, against the real framework."""
import dataclasses

import numpy as np
import pytest

from parity.engine.model import Status
from parity.ops.roi_align.attrs import Attrs
from parity.engine.pool import Worker
from parity.ops.roi_align.reference import MINDSPORE_END_MODE_0, MINDSPORE_END_MODE_1, float16_serial_interval, roi_align


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


def test_float16_adaptive_sampling_keeps_the_empty_grid_nan(mindspore):
    """In float16 too, MindSpore's floor grid divides an empty grid's 0 by 0: the float16 prediction
    (floor grid, no guard, serial float16 sum) must say NaN there and bound every other bin."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 10, 12)).astype(np.float16)
    rois = np.array([[0, 1, 1, 9, 8], [0, 2, 2, 2.3, 2.2], [0, 0, 0, 11, 9]], np.float16)
    got = _run(mindspore, Attrs((2, 2), 1.0, 0, False), x, rois)
    measured = dataclasses.replace(MINDSPORE_END_MODE_0, adaptive_grid="floor", empty_grid_nan=True, accumulate="float16")
    lo, hi = float16_serial_interval(x, rois, (2, 2), 1.0, 0, measured)
    assert np.isnan(got[1]).all() and np.isnan(lo[1]).all() and np.isnan(hi[1]).all()
    assert not np.isnan(got[[0, 2]]).any()
    assert ((lo[[0, 2]] <= got[[0, 2]]) & (got[[0, 2]] <= hi[[0, 2]])).all()


def test_batch_index_rule_is_mindspores_rint_plus_7e5(mindspore):
    """Constant images (image i holds i): the output says which image each batch index picked."""
    from parity.ops.roi_align.reference import MINDSPORE_END_MODE_0, batch_indices

    n = 5
    features = np.stack([np.full((1, 4, 4), i, np.float32) for i in range(n)])
    b = np.array([0.5, 1.5, 2.5, 3.5, 0.49995, 1.49993, 0.49993, 0.4999, 2.49993, 0.7, 3.9999], np.float32)
    rois = np.stack([b, *(np.full(len(b), v, np.float32) for v in (0.5, 0.5, 2.5, 2.5))], 1)
    picked = _run(mindspore, Attrs((1, 1), 1.0, 1, False), features, rois).ravel()
    rule = dataclasses.replace(MINDSPORE_END_MODE_0, batch_index="round")
    assert picked.tolist() == batch_indices(b.astype(np.float64), rule).tolist()


def test_skipped_rois_are_left_unwritten(mindspore):
    """mindspore-skips-rois-at-x-zero: the skipped roi is not computed (it holds what the buffer held:
    zeros, or a previous call's values, as the allocator decides); the other roi is."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 6, 7)).astype(np.float32)
    attrs = Attrs((2, 5), 1.0, 2, False)  # an output shape no other test here uses
    normal = np.array([[0, 1, 1, 4, 4], [0, 2, 0, 5, 3]], np.float32)
    skipped = np.array([[0, 1, 1, 4, 4], [0, 0.0, 1, 0.0005, 4]], np.float32)  # roi 1: x1, x2 within 0.001 of 0
    before = _run(mindspore, attrs, 2 * x, normal)
    mindspore_out = _run(mindspore, attrs, x, skipped)
    assert before.shape == mindspore_out.shape
    documented = roi_align(x, skipped, (2, 5), 1.0, 2, MINDSPORE_END_MODE_0)
    np.testing.assert_allclose(mindspore_out[0], documented[0], atol=1e-5)  # the other roi is computed
    assert np.max(np.abs(mindspore_out[1] - documented[1])) > 0.1


def _grad(worker: Worker, attrs: Attrs, features: np.ndarray, rois: np.ndarray, weight: np.ndarray) -> np.ndarray:
    arrays = {"features": features, "rois": rois, "grad_weight": weight}
    worker.send({"case_id": "finding", "attrs": attrs.to_json(), "port": "mapped"}, arrays)
    result = worker.receive("finding")
    assert result.status is Status.OK, result.message
    return result.outputs["grad"].astype(np.float64)


@pytest.mark.parametrize("sample_num,aligned", [(2, False), (2, True), (3, False)])
def test_backward_skips_rois_with_x_near_zero(mindspore, sample_num, aligned):
    """mindspore-backward-skips-rois-at-x-zero: those rois hand back no gradient, all others the mode-1 window's."""
    from parity.ops.roi_align.divergence import VARIANTS, documented_semantics
    from parity.engine.model import Port
    from parity.ops.roi_align.reference import roi_align_backward

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 8, 10)).astype(np.float32)
    rois = np.array(
        [[0, 0, 1, 0, 4], [1, 0.0004, 2, -0.0003, 5], [0, -0.00099, 1, 0.00099, 6],  # skipped
         [1, 0.001, 1, 0, 4], [0, 0, 0, 0.5, 2], [1, 1, 1, 6, 5]],  # not: |x| = 0.001 is not < 0.001
        np.float32,
    )
    weight = rng.standard_normal((len(rois), 3, 3, 3)).astype(np.float32)
    attrs = Attrs((3, 3), 1.0, sample_num, aligned)
    got = _grad(mindspore, attrs, x, rois, weight)
    window = VARIANTS["roi-end-mode-1"](documented_semantics("mindspore", attrs, Port.MAPPED))
    predicted = VARIANTS["skip-rois-at-x-zero"](window)
    args = (weight.astype(np.float64), x.shape, rois.astype(np.float64), (3, 3), 1.0, sample_num)
    np.testing.assert_allclose(got, roi_align_backward(*args, predicted.convention), atol=1e-5)
    assert np.max(np.abs(got - roi_align_backward(*args, window.convention))) > 0.5
    kept = weight.astype(np.float64).copy()
    kept[:3] = 0.0  # the same as dropping the first three rois' share of the loss, and nothing else
    np.testing.assert_allclose(got, roi_align_backward(kept, *args[1:], window.convention), atol=1e-5)


def _status(worker: Worker, attrs: Attrs, features: np.ndarray, rois: np.ndarray, raw: bool = False):
    worker.send({"case_id": "finding", "attrs": attrs.to_json(), "port": "mapped", "raw": raw}, {"features": features, "rois": rois})
    return worker.receive("finding")


def test_a_nan_batch_index_can_kill_mindspore(tmp_path):
    """mindspore-batch-index-nan-undefined: the shrunk random case; its roi reaches past the image."""
    worker = Worker("mindspore", tmp_path / "mindspore.log")
    try:
        rois = np.array([[np.nan, 226.39429, 221.1682, 412.22238, 288.65628]], np.float32)
        result = _status(worker, Attrs((3, 2), 0.0625, 2, False), np.zeros((2, 1, 23, 17), np.float32), rois)
        assert result.status is Status.CRASH and "SIGSEGV" in result.message, result.message
    finally:
        worker.stop()


@pytest.mark.parametrize("b,raises", [(-1e-5, True), (-0.5, True), (-0.99999, True), (0.0, False), (0.99999, False)])
def test_a_negative_fractional_batch_index_raises(mindspore, b, raises):
    """mindspore-rejects-negative-batch-index: the raw float is range-checked, so -1 < b < 0 raises."""
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6)).astype(np.float32)
    result = _status(mindspore, Attrs((2, 2), 1.0, 2, False), x, np.array([[b, 1, 1, 4, 4]], np.float32))
    assert (result.status is Status.ERROR) is raises, result.message
    assert not raises or "image_index" in result.message


@pytest.fixture(scope="module")
def torchvision(tmp_path_factory):
    w = Worker("torchvision", tmp_path_factory.mktemp("logs") / "torchvision.log")
    yield w
    w.stop()


@pytest.mark.parametrize("framework", ["torchvision", "mindspore"])
def test_an_overflowing_adaptive_grid_gives_zeros(request, framework):
    """adaptive-grid-overflow: roi_size / output_size > 2**31, the integer grid is INT_MIN and nothing is sampled."""
    worker = request.getfixturevalue(framework)
    x = np.random.default_rng(2).standard_normal((1, 2, 6, 6)).astype(np.float32)
    rois = np.array([[0, 0, 0, 4, 4], [0, 1, 2, 3, 5]], np.float32)
    for aligned in (False, True):
        result = _status(worker, Attrs((2, 2), 1e20, -1, aligned), x, rois, raw=True)
        assert result.status is Status.OK, result.message
        np.testing.assert_array_equal(result.outputs["out"], np.zeros((2, 2, 2, 2), np.float32))


def test_rois_near_x_zero_are_skipped_however_large_their_window(mindspore):
    """mindspore-skips-rois-at-x-zero before any sizing: with aligned=True's roi_end_mode=1 and a scale
    of 1e30, a roi within 1e-29 of the origin has a 1e30-pixel window, and MindSpore hands back a zero
    gradient (it returns at once: nothing is sampled)."""
    from parity.ops.roi_align.verdict_cases import verdict_cases

    case = next(c for c in verdict_cases() if "unevaluable-window-skipped" in c.id)
    weight = np.random.default_rng(3).standard_normal((2, 2, 2, 2)).astype(np.float32)
    got = _grad(mindspore, case.attrs, case.features, case.rois, weight)
    assert np.all(got == 0)
