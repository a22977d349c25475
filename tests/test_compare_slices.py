"""parity.engine.compare works slice by slice on large arrays: every metric, verdict and piece of
evidence must be what the whole-array computation gives, wherever the slices cut."""
import numpy as np
import pytest

from parity.engine import compare
from parity.engine.model import Tolerance

TOL = Tolerance(1.3e-6, 1e-5, "test")


def _pair(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3, shape)
    a = (e + rng.standard_normal(shape) * 1e-6).astype(np.float32)
    flat_a, flat_e = a.reshape(-1), e.reshape(-1)
    flat_e[[5, 77]] = [np.nan, np.inf]
    flat_a[[5, 77, 301]] = [np.nan, np.inf, np.nan]
    flat_e[[40, 41]], flat_a[[40, 41]] = 1.0, 4.0  # two equal greatest differences: the first is reported
    bound = np.abs(e) * 1e-7
    return a, e, bound


@pytest.mark.parametrize("slice_", [1, 7, 64, 1 << 20])
def test_metrics_do_not_depend_on_where_slices_cut(monkeypatch, slice_):
    rng = np.random.default_rng(21)
    a, e, bound = _pair(rng, (3, 4, 5, 6))
    whole = compare.metrics(a, e, TOL, "float32", bound)
    monkeypatch.setattr(compare, "_SLICE", slice_)
    for b in (bound, 1e-7, bound.astype(np.float32)):
        got = compare.metrics(a, e, TOL, "float32", b)
        monkeypatch.setattr(compare, "_SLICE", 1 << 30)
        want = compare.metrics(a, e, TOL, "float32", b)
        monkeypatch.setattr(compare, "_SLICE", slice_)
        assert repr(got) == repr(want)  # repr: NaN metrics compare equal
    assert whole.mismatched > 0 and whole.max_abs == 3.0 and whole.max_abs_index == (0, 1, 1, 4)  # flat index 40
    assert whole.pattern
    assert compare.metrics(a[:0], e[:0], TOL, "float32").max_abs_index is None


@pytest.mark.parametrize("slice_", [1, 13, 1 << 20])
def test_undecided_does_not_depend_on_where_slices_cut(monkeypatch, slice_):
    rng = np.random.default_rng(22)
    e = rng.standard_normal((2, 3, 4, 5))
    a = e + 1e-7
    alt = e.copy()
    alt.flat[17] += 1.0  # one element tells the semantics apart...
    cases = [
        (np.full(e.shape, 1e-9), np.abs(e), alt),  # decided
        (np.full(e.shape, 1e-9), np.abs(e), e),  # the semantics coincide: decided
        (np.where(np.arange(e.size).reshape(e.shape) == 50, 10.0, 1e-9), np.abs(e), None),  # one bound too wide
        (np.where(np.arange(e.size).reshape(e.shape) == 17, 0.5, 1e-9), 10.0, alt),  # ...unless its allowance hides it
        (1e-9, 1.0, None),
    ]
    for bound, scale, alternative in cases:
        monkeypatch.setattr(compare, "_SLICE", 1 << 30)
        want = compare.undecided(TOL, bound, scale, e, a, alternative)
        monkeypatch.setattr(compare, "_SLICE", slice_)
        assert compare.undecided(TOL, bound, scale, e, a, alternative) == want
    verdicts = []
    for bound, scale, alternative in cases:
        verdicts.append(compare.undecided(TOL, bound, scale, e, a, alternative))
    assert [v is None for v in verdicts] == [True, True, False, False, True]
    assert verdicts[2].against == "value" and verdicts[3].against == "documented difference"
