import numpy as np

from parity.engine import compare
from parity.ops.roi_align import bounds
from parity.engine.model import Tolerance
from parity.ops.roi_align.reference import TORCHVISION_UNALIGNED, roi_align

TOL = Tolerance(1e-6, 1e-6, "test")


def test_nan_is_never_equal_to_a_number():
    m = compare.metrics(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), TOL, "float32")
    assert (m.mismatched, m.nan_mismatch) == (1, 1)
    m = compare.metrics(np.array([np.nan, np.inf]), np.array([np.nan, np.inf]), TOL, "float32")
    assert m.mismatched == 0
    assert compare.metrics(np.array([-np.inf]), np.array([np.inf]), TOL, "float32").mismatched == 1


def test_metrics_report_the_worst_index_and_ulps():
    expected = np.zeros((1, 1, 2, 2))
    actual = expected.copy()
    actual[0, 0, 1, 0] = 1e-3
    m = compare.metrics(actual, expected, TOL, "float32")
    assert m.max_abs_index == (0, 0, 1, 0)
    assert m.max_abs == 1e-3 and m.mismatched == 1 and m.max_ulp > 1e3
    assert "Mismatched elements: 1 / 4 (25.0%)" in compare.describe(m, TOL)


def _large_image_case():
    """Coordinates near 1000 feature pixels, where float32 rounding alone moves samples."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 2, 1100, 1100)).astype(np.float32)
    x1 = rng.uniform(900, 1000, 8)
    rois = np.stack([np.zeros(8), x1, x1, x1 + rng.uniform(5, 60, 8), x1 + rng.uniform(5, 60, 8)], 1).astype(np.float32)
    return x.astype(np.float64), rois.astype(np.float64)


def test_derived_bound_accepts_float32_rounding_on_large_coordinates():
    x, rois = _large_image_case()
    args = (rois, (7, 7), 1.0, 2, TORCHVISION_UNALIGNED)
    exact = roi_align(x, *args)
    rounded = roi_align(x, *args, geometry_dtype="float32").astype(np.float32)  # what a float32 kernel may give
    tol = compare.tolerance_for("float32")
    assert compare.metrics(rounded, exact, tol, "float32").mismatched > 0  # fixed tolerance false-alarms
    bound = bounds.rounding_bound(x, *args, dtype="float32")
    assert compare.metrics(rounded, exact, tol, "float32", bound).mismatched == 0


def test_derived_bound_still_catches_a_relative_error_of_1e_4():
    """At the standard suite's scale (coordinates up to ~50 pixels) rounding explains far less than 1e-4."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 48, 48)).astype(np.float32).astype(np.float64)
    x1 = rng.uniform(-2, 30, 12)
    rois = np.stack([rng.integers(0, 2, 12), x1, x1, x1 + rng.uniform(1, 20, 12), x1 + rng.uniform(1, 20, 12)], 1)
    rois = rois.astype(np.float32).astype(np.float64)
    args = (rois, (7, 7), 1.0, 2, TORCHVISION_UNALIGNED)
    exact = roi_align(x, *args)
    bound = bounds.rounding_bound(x, *args, dtype="float32")
    faulty = exact * (1 + 1e-4)
    m = compare.metrics(faulty, exact, compare.tolerance_for("float32"), "float32", bound)
    assert m.mismatched > 0.5 * m.total


def _grid(seed=0):
    return np.random.default_rng(seed).standard_normal((4, 2, 5, 5))


def test_pattern_names_a_uniform_shift_and_the_rois_involved():
    e = _grid()
    a = e.copy()
    a[1] += 0.25
    m = compare.metrics(a, e, TOL, "float64")
    assert "uniform shift of 0.25" in m.pattern and "only rois [1]" in m.pattern


def test_pattern_names_scale_sign_border_and_nan():
    e = _grid()
    assert "scaled by 1.01" in compare.metrics(e * 1.01, e, TOL, "float64").pattern
    assert "sign flipped" in compare.metrics(-e, e, TOL, "float64").pattern
    a = e.copy()
    a[:, :, 0, :] += 1.0
    assert "only border bins" in compare.metrics(a, e, TOL, "float64").pattern
    a = e.copy()
    a[2, 0, 1, 1] = np.nan
    assert "NaN in actual where the other has numbers" in compare.metrics(a, e, TOL, "float64").pattern
