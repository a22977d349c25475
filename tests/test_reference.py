import dataclasses
import zlib

import numpy as np
import pytest
import torch
from torchvision.ops import roi_align as tv_roi_align

from parity.ops.roi_align import reference
from parity.engine.errors import InvalidInput
from parity.ops.roi_align.reference import TORCHVISION_ALIGNED, TORCHVISION_UNALIGNED, roi_align
from tests import numpy_reference


def _random_case(rng: np.random.Generator, kind: str):
    n, c, h, w = (int(v) for v in rng.integers(1, 4, 2).tolist() + rng.integers(1, 14, 2).tolist())
    k = int(rng.integers(1, 7))
    batch = rng.integers(0, n, k).astype(np.float64)
    if kind == "inside":
        x1, y1 = rng.uniform(0, w, k), rng.uniform(0, h, k)
        box = np.stack([x1, y1, x1 + rng.uniform(0, w, k), y1 + rng.uniform(0, h, k)], 1)
    elif kind == "border":
        box = np.stack([rng.uniform(-4, 2, k), rng.uniform(-4, 2, k), rng.uniform(w - 2, w + 4, k), rng.uniform(h - 2, h + 4, k)], 1)
    elif kind == "outside":
        x1 = rng.uniform(w + 1.5, w + 6, k)
        box = np.stack([x1, rng.uniform(-9, -3, k), x1 + 2, rng.uniform(-2.5, -1.5, k)], 1)
    elif kind == "tiny":
        x1, y1 = rng.uniform(-1, w, k), rng.uniform(-1, h, k)
        box = np.stack([x1, y1, x1 + rng.uniform(0, 0.3, k), y1 + rng.uniform(0, 0.3, k)], 1)
    else:  # inverted
        x1, y1 = rng.uniform(0, w, k), rng.uniform(0, h, k)
        box = np.stack([x1, y1, x1 - rng.uniform(0, 3, k), y1 - rng.uniform(0, 3, k)], 1)
    scale = float(rng.choice([1.0, 0.5, 0.25, 0.3, 2.0]))
    rois = np.concatenate([batch[:, None], box / scale], 1)
    out = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
    sr = int(rng.choice([-1, 0, 1, 2, 3]))
    aligned = bool(rng.integers(0, 2))
    return rng.standard_normal((n, c, h, w)), rois, out, scale, sr, aligned


def test_equals_torchvision_float64_on_seeded_random_cases():
    """<= 1e-12 against torchvision's float64 CPU kernel, over every roi geometry."""
    rng = np.random.default_rng(20261127)
    compared, worst = 0, 0.0
    for i in range(300):
        x, rois, out, scale, sr, aligned = _random_case(rng, ["inside", "border", "outside", "tiny", "inverted"][i % 5])
        try:
            expected = tv_roi_align(torch.from_numpy(x), torch.from_numpy(rois), out, scale, sr, aligned).numpy()
        except ValueError as exc:
            # torchvision sizes a buffer by gh*gw; aligned=True with an inverted roi makes one factor
            # negative ("cannot create std::vector larger than max_size()"): a torchvision error.
            assert aligned and sr <= 0 and "max_size" in str(exc)
            continue
        conv = TORCHVISION_ALIGNED if aligned else TORCHVISION_UNALIGNED
        worst = max(worst, float(np.max(np.abs(roi_align(x, rois, out, scale, sr, conv) - expected))))
        compared += 1
    assert compared >= 250
    assert worst <= 1e-12


def test_list_of_boxes_equals_tensor_form():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 9))
    boxes = [np.array([[1.0, 1, 5, 6], [0, 0, 8, 9]]), np.array([[2.0, 3, 4, 4.5]])]
    rois = reference.rois_from_boxes(boxes)
    np.testing.assert_array_equal(rois[:, 0], [0, 0, 1])
    np.testing.assert_array_equal(roi_align(x, boxes, 3, 1.0, 2), roi_align(x, rois, 3, 1.0, 2))
    expected = tv_roi_align(torch.from_numpy(x), [torch.from_numpy(b) for b in boxes], 3, 1.0, 2).numpy()
    assert np.max(np.abs(roi_align(x, boxes, 3, 1.0, 2) - expected)) <= 1e-12


def test_seed_note_numbers(seed_note):
    out = roi_align(np.array(seed_note["features"]), np.array(seed_note["rois"]), (3, 3), 0.25, 2)
    np.testing.assert_allclose(out[0, 0], seed_note["printed_torchvision"], atol=0.5e-4)
    np.testing.assert_allclose(out[0, 0], seed_note["printed_mindspore"], atol=1e-6)


@pytest.mark.parametrize("nan_mode, expect_nan", [("kernel", True), ("weighted", False)])
def test_nan_next_to_a_sample(nan_mode, expect_nan):
    """A NaN in a zero-weight corner reaches the output only when all four corners are read."""
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2, 1] = np.nan  # the row below a sample taken exactly on row 1
    rois = np.array([[0, 1.5, 1.5, 1.5, 1.5]])  # aligned: start 1.0, size 0 -> one sample at (1.0, 1.0)
    out = roi_align(x, rois, 1, 1.0, 1, TORCHVISION_ALIGNED, nan_mode)
    assert bool(np.isnan(out).any()) is expect_nan


@pytest.mark.parametrize(
    "rois, match",
    [
        (np.array([[2, 0, 0, 1, 1.0]]), "outside the batch"),
        (np.array([[-1, 0, 0, 1, 1.0]]), "outside the batch"),
        (np.array([[0, np.nan, 0, 1, 1.0]]), "non-finite"),
        (np.array([[0, 0, 1, 1.0]]), r"\[K, 5\]"),
    ],
)
def test_undefined_inputs_are_refused(rois, match):
    with pytest.raises(InvalidInput, match=match):
        roi_align(np.zeros((2, 1, 3, 3)), rois, 2)


def test_float16_geometry_rounds_sample_positions():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    rois = np.array([[0, 0.3, 0.3, 2.7, 2.9]])
    exact = roi_align(x, rois, 2, 0.3, 2)
    rounded = roi_align(x, rois, 2, 0.3, 2, geometry_dtype="float16")
    assert 0 < np.max(np.abs(exact - rounded)) < 1e-2


# --- The backward pass, detection-sized geometry, and the plain-NumPy cross-check ----------------------


def _torch_forward_and_grad(x, rois, out, scale, sr, aligned, g):
    features = torch.from_numpy(x).requires_grad_()
    y = tv_roi_align(features, torch.from_numpy(rois), out, scale, sr, aligned)
    (grad,) = torch.autograd.grad(y, features, torch.from_numpy(g))
    return y.detach().numpy(), grad.numpy()


def test_backward_equals_torchvision_float64_autograd_on_seeded_random_cases():
    """<= 1e-12 against torchvision's float64 autograd gradient, random output gradients, every geometry."""
    rng = np.random.default_rng(20261128)
    compared, worst = 0, 0.0
    for i in range(300):
        x, rois, out, scale, sr, aligned = _random_case(rng, ["inside", "border", "outside", "tiny", "inverted"][i % 5])
        g = rng.standard_normal((len(rois), x.shape[1], *reference.pooled_shape(out)))
        try:
            _, expected = _torch_forward_and_grad(x, rois, out, scale, sr, aligned, g)
        except ValueError as exc:  # the torchvision error of test_equals_torchvision_float64_on_seeded_random_cases
            assert aligned and sr <= 0 and "max_size" in str(exc)
            continue
        conv = TORCHVISION_ALIGNED if aligned else TORCHVISION_UNALIGNED
        actual = reference.roi_align_backward(g, x.shape, rois, out, scale, sr, conv)
        assert actual.shape == x.shape
        worst = max(worst, float(np.max(np.abs(actual - expected))))
        compared += 1
    assert compared >= 250
    assert worst <= 1e-12


def test_backward_is_the_adjoint_of_the_forward():
    """<g, A d> == <A^T g, d> for random g, d: the backward is the transpose of the forward's linear map.

    Relative to sum |g| |A d|, the size of the terms the two sides add in different orders.
    """
    rng = np.random.default_rng(7)
    for i, conv in enumerate(reference.CONVENTIONS.values()):
        for sr in (-1, 0, 2):
            x, rois, out, scale, _, _ = _random_case(rng, ["inside", "border", "tiny", "outside"][i])
            d = rng.standard_normal(x.shape)
            forward = roi_align(d, rois, out, scale, sr, conv)
            g = rng.standard_normal(forward.shape)
            backward = reference.roi_align_backward(g, x.shape, rois, out, scale, sr, conv)
            lhs, rhs = float(np.vdot(g, forward)), float(np.vdot(backward, d))
            assert abs(lhs - rhs) <= 1e-12 * max(float(np.vdot(np.abs(g), np.abs(forward))), 1e-300)


def test_detection_sized_geometry_is_bit_identical_to_torchvision_float64():
    """Many rois of every size on a strided map, fixed and adaptive grids: the kernel adds the samples
    in torchvision's order, so its float64 forward and backward equal torchvision's bit for bit."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 20, 40, 52))
    corners = rng.uniform(-20, 850, (150, 4))
    boxes = np.concatenate([np.minimum(corners[:, :2], corners[:, 2:]), np.maximum(corners[:, :2], corners[:, 2:])], 1)
    rois = np.concatenate([rng.integers(0, 2, (150, 1)).astype(np.float64), boxes], 1)
    for sr, aligned in ((2, False), (-1, True), (3, False)):
        conv = TORCHVISION_ALIGNED if aligned else TORCHVISION_UNALIGNED
        g = rng.standard_normal((150, 20, 7, 6))
        expected, expected_grad = _torch_forward_and_grad(x, rois, (7, 6), 1 / 16, sr, aligned, g)
        np.testing.assert_array_equal(roi_align(x, rois, (7, 6), 1 / 16, sr, conv), expected)
        np.testing.assert_array_equal(reference.roi_align_backward(g, x.shape, rois, (7, 6), 1 / 16, sr, conv), expected_grad)


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_threads_change_no_number(threads):
    """Split over rois (forward) or channels (backward, transposes), the reference gives the
    single-thread numbers bit for bit, NaN included, and those are torchvision float64's: more
    threads than channels or rois, uneven shares and float32 features included."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 5, 30, 34))
    x[1, 3, 7, 9] = np.nan
    corners = rng.uniform(-20, 560, (9, 4))
    boxes = np.concatenate([np.minimum(corners[:, :2], corners[:, 2:]), np.maximum(corners[:, :2], corners[:, 2:])], 1)
    rois = np.concatenate([rng.integers(0, 2, (9, 1)).astype(np.float64), boxes], 1)
    g = rng.standard_normal((9, 5, 4, 3))
    expected, expected_grad = _torch_forward_and_grad(x, rois, (4, 3), 1 / 16, -1, True, g)
    for features in (x, x.astype(np.float32)):
        one = roi_align(features, rois, (4, 3), 1 / 16, -1, TORCHVISION_ALIGNED)
        np.testing.assert_array_equal(roi_align(features, rois, (4, 3), 1 / 16, -1, TORCHVISION_ALIGNED, threads=threads), one)
    np.testing.assert_array_equal(roi_align(x, rois, (4, 3), 1 / 16, -1, TORCHVISION_ALIGNED, threads=threads), expected)
    grad = reference.roi_align_backward(g, x.shape, rois, (4, 3), 1 / 16, -1, TORCHVISION_ALIGNED, threads=threads)
    np.testing.assert_array_equal(grad, expected_grad)
    np.testing.assert_array_equal(grad, reference.roi_align_backward(g, x.shape, rois, (4, 3), 1 / 16, -1, TORCHVISION_ALIGNED))


#: Conventions beyond the four frameworks': every field that changes what the kernel computes.
_VARIANTS = (
    *reference.CONVENTIONS.values(),
    dataclasses.replace(TORCHVISION_UNALIGNED, name="floor grid, empty grid NaN", adaptive_grid="floor", empty_grid_nan=True),
    dataclasses.replace(TORCHVISION_UNALIGNED, name="origin", outside_reads_origin=True),
    dataclasses.replace(TORCHVISION_ALIGNED, name="round batch, f32 scale", batch_index="round", scale_dtype="float32"),
    dataclasses.replace(TORCHVISION_UNALIGNED, name="float16 sum", sum_limit=3.0),
)


def _same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same NaN and infinity positions, finite values within 1e-12."""
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = np.isfinite(expected)
    assert np.max(np.abs(actual[finite] - expected[finite]), initial=0.0) <= 1e-12


@pytest.mark.parametrize("conv", _VARIANTS, ids=lambda c: c.name)
def test_kernel_equals_the_plain_numpy_per_sample_form(conv):
    """Every Convention field, both NaN modes and the three geometry dtypes, on seeded random cases with
    NaN and Inf in the features and the output gradient, against tests/numpy_reference.py."""
    rng = np.random.default_rng(zlib.crc32(conv.name.encode()))
    compared = 0
    for i in range(40):
        x, rois, out, scale, sr, _ = _random_case(rng, ["inside", "border", "outside", "tiny", "inverted"][i % 5])
        if i % 3 == 0:
            x.flat[rng.integers(0, x.size, 2)] = [np.nan, np.inf]
        nan_mode = ("kernel", "weighted")[i % 2]
        geometry = ("float64", "float32", "float16")[i % 3]
        args = (rois, out, scale, sr, conv)
        try:
            expected = numpy_reference.roi_align(x, *args, nan_mode=nan_mode, geometry_dtype=geometry)
        except InvalidInput:  # an inverted roi's huge negative grid: refused by both
            with pytest.raises(InvalidInput):
                roi_align(x, *args, nan_mode=nan_mode, geometry_dtype=geometry)
            continue
        _same(roi_align(x, *args, nan_mode=nan_mode, geometry_dtype=geometry), expected)
        g = rng.standard_normal(expected.shape)
        if i % 4 == 1 and g.size:
            g.flat[rng.integers(0, g.size)] = np.nan
        _same(
            reference.roi_align_backward(g, x.shape, *args, geometry_dtype=geometry),
            numpy_reference.roi_align_backward(g, x.shape, *args, geometry_dtype=geometry),
        )
        compared += 1
    assert compared >= 30


def test_non_finite_features_keep_the_per_sample_semantics():
    """A NaN that no roi reads changes nothing; one in an image a roi reads reaches the bins the kernel's reads
    take it to."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 9, 9))
    rois = np.array([[0, 1.0, 1.0, 6.0, 7.0], [0, 0.5, 2.0, 3.0, 8.5]])
    x[1, 2, 4, 4] = np.nan  # image 1: no roi reads it
    expected = tv_roi_align(torch.from_numpy(x), torch.from_numpy(rois), 3, 1.0, 2).numpy()
    np.testing.assert_allclose(roi_align(x, rois, 3, 1.0, 2), expected, rtol=0, atol=1e-12)
    x[0, 1, 3, 3] = np.inf  # read by roi 0 only: bins that do not read it stay finite
    expected = tv_roi_align(torch.from_numpy(x), torch.from_numpy(rois), 3, 1.0, 2).numpy()
    actual = roi_align(x, rois, 3, 1.0, 2)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    finite = np.isfinite(expected)
    assert np.max(np.abs(actual[finite] - expected[finite])) <= 1e-12 and (~finite).any() and finite[0].any()


def test_nan_in_the_output_gradient_reaches_every_corner_torchvision_touches():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((1, 2, 6, 7))
    rois = np.array([[0, 1.2, 0.5, 4.7, 5.1], [0, -3.0, -3.0, -2.0, -2.5]])
    g = rng.standard_normal((2, 2, 3, 3))
    g[0, 1, 1, 1] = np.nan
    _, expected = _torch_forward_and_grad(x, rois, 3, 1.0, 2, False, g)
    actual = reference.roi_align_backward(g, x.shape, rois, 3, 1.0, 2)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    assert np.isnan(actual).any()
    np.testing.assert_allclose(np.nan_to_num(actual), np.nan_to_num(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "g_shape, features_shape, match",
    [((1, 1, 2, 2), (1, 1, 3), "features_shape"), ((1, 1, 3, 3), (1, 1, 3, 3), "grad_output")],
)
def test_backward_refuses_inconsistent_shapes(g_shape, features_shape, match):
    with pytest.raises(InvalidInput, match=match):
        reference.roi_align_backward(np.zeros(g_shape), features_shape, np.array([[0, 0, 0, 1, 1.0]]), 2)


def test_float32_features_give_the_float64_tables_numbers_bit_for_bit():
    """Float32 features are read through a float32 table and widened value by value: the result
    is the float64 table's, exactly, NaN and Inf included, and on finite values torchvision
    float64's, with many channels (the vectorised loop) and many rois (visited in cache order,
    written in roi order)."""
    rng = np.random.default_rng(20261202)
    for i in range(40):
        x, rois, out, scale, sr, aligned = _random_case(rng, ["inside", "border", "tiny"][i % 3])
        if i % 4 == 0:
            x = np.repeat(x, 40, axis=1)  # > one vector of channels
        nonfinite = i % 5 == 0
        if nonfinite:
            x.flat[rng.integers(0, x.size, 2)] = [np.nan, np.inf]
        rois = np.repeat(rois, 1 + i % 3, axis=0)
        x32 = x.astype(np.float32)
        conv = TORCHVISION_ALIGNED if aligned else TORCHVISION_UNALIGNED
        got = roi_align(x32, rois, out, scale, sr, conv)
        np.testing.assert_array_equal(got, roi_align(x32.astype(np.float64), rois, out, scale, sr, conv))
        if not nonfinite:
            expected = tv_roi_align(torch.from_numpy(x32.astype(np.float64)), torch.from_numpy(rois), out, scale, sr, aligned).numpy()
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_reused_result_buffer_leaves_nothing_of_the_last_result(threads):
    """Results of a megabyte or more come from buffers the reference hands out again
    (parity.engine.memory.Results), uninitialised: every bin must be written anew.  Primed with
    results of large values, such a buffer then holds one whose rois with an empty grid (aligned,
    zero size, adaptive sampling: torchvision's loops run zero times) must be exactly 0, and NaN
    under a convention that says so (against the plain NumPy form; inverted rois, with negative
    grids, are not NaN there: their count is not zero)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 16, 30, 40))
    corners = rng.uniform(0, 1, (400, 4)) * [620, 460, 620, 460]  # inside the 640 x 480 image
    boxes = np.concatenate([np.minimum(corners[:, :2], corners[:, 2:]), np.maximum(corners[:, :2], corners[:, 2:])], 1)
    rois = np.concatenate([rng.integers(0, 2, (400, 1)).astype(np.float64), boxes], 1)
    inside = rois.copy()
    rois[::3, 3:] = rois[::3, 1:3]  # every third roi: zero width and height
    expected = tv_roi_align(torch.from_numpy(x), torch.from_numpy(rois), (7, 7), 1 / 16, -1, True).numpy()
    assert (expected[::3] == 0).all() and (expected[1::3] != 0).any()
    floor_nan = dataclasses.replace(TORCHVISION_ALIGNED, name="floor grid, empty grid NaN", adaptive_grid="floor", empty_grid_nan=True)
    inverted = rois.copy()
    inverted[1::6, 1:] = inverted[1::6, [3, 4, 1, 2]]  # corners swapped: negative grids, whose product is no zero count
    for conv, boxes, want in ((TORCHVISION_ALIGNED, rois, expected), (floor_nan, inverted, numpy_reference.roi_align(x, inverted, (7, 7), 1 / 16, -1, floor_nan))):
        primed = [roi_align(x + 1e6, inside, (7, 7), 1 / 16, 2, TORCHVISION_ALIGNED, threads=threads) for _ in range(reference._results.keep)]
        assert min(np.abs(p).min() for p in primed) > 1e5  # every buffer kept: dirty
        addresses = {p.ctypes.data for p in primed}
        del primed
        got = roi_align(x, boxes, (7, 7), 1 / 16, -1, conv, threads=threads)
        assert got.ctypes.data in addresses  # a primed buffer, handed out again
        if conv is TORCHVISION_ALIGNED:
            np.testing.assert_array_equal(got, want)
        else:
            assert np.isnan(got[::3]).all() and not np.isnan(got[1::6]).any()
            _same(got, want)
