"""parity.ops.roi_align.tables against their NumPy definitions (the RoIAlign loops of parity.ops.roi_align.kernel are checked against
torchvision and tests/numpy_reference.py in tests/test_reference.py)."""
import numpy as np

from parity.ops.roi_align import tables


def _slope(x: np.ndarray) -> np.ndarray:
    """Per pixel, the largest |difference| to a 4-neighbour, NaN-propagating like np.maximum."""
    slope = np.zeros_like(x)
    for axis in (2, 3):
        d = np.abs(np.diff(x, axis=axis))
        lo, hi = [slice(None)] * 4, [slice(None)] * 4
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        slope[tuple(lo)] = np.maximum(slope[tuple(lo)], d)
        slope[tuple(hi)] = np.maximum(slope[tuple(hi)], d)
    return slope


def test_magnitude_and_slope_table_equals_its_numpy_definition():
    rng = np.random.default_rng(5)
    for shape in ((2, 3, 5, 7), (1, 2, 1, 9), (1, 1, 4, 1), (1, 70, 3, 130)):
        x = rng.standard_normal(shape)
        x.flat[rng.integers(0, x.size, 3)] = [np.nan, np.inf, -np.inf]
        n, c, h, w = shape
        table = np.full((n * h * w + 1, 2 * c), 7.0)
        tables.magnitude_and_slope(x, table)
        expected = np.concatenate([np.abs(x), _slope(x)], axis=1).transpose(0, 2, 3, 1).reshape(-1, 2 * c)
        np.testing.assert_array_equal(table[:-1], expected)
        assert (table[-1] == 7.0).all()  # spare rows are the caller's


def test_channels_last_and_back_are_inverse_transposes():
    rng = np.random.default_rng(6)
    for shape in ((2, 3, 5, 7), (1, 300, 2, 70)):
        x = rng.standard_normal(shape).astype(np.float32)
        n, c, h, w = shape
        table = np.zeros((n * h * w + 1, c))
        tables.channels_last(x, table, 0, x.shape[1])
        np.testing.assert_array_equal(table[:-1], x.transpose(0, 2, 3, 1).reshape(-1, c).astype(np.float64))
        back = np.empty(shape)
        tables.channels_first(table, back, 0)
        np.testing.assert_array_equal(back, x)


def test_both_copies_of_the_slope_maximum_are_np_maximum():
    """tables and kernel each keep the NaN-propagating maximum (numba caches per file): the same rule."""
    from parity.ops.roi_align import kernel

    values = [0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan]
    for s in values:
        for d in values:
            expected = np.maximum(s, d)
            for steeper in (kernel._steeper, tables._steeper):
                got = steeper(s, d)
                assert (np.isnan(got) and np.isnan(expected)) or got == expected, (s, d, got)
