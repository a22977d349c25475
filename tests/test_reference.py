import numpy as np
import pytest
import torch
from torchvision.ops import roi_align as tv_roi_align

from parity import reference
from parity.errors import InvalidInput
from parity.reference import TORCHVISION_ALIGNED, TORCHVISION_UNALIGNED, roi_align


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
