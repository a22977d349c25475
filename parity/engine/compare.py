"""Tolerance policy, float64 error metrics and the one mismatch-message shape."""
from __future__ import annotations

from typing import SupportsInt

import numpy as np

from parity.engine.model import Metrics, Tolerance, Undecided

#: Defaults per dtype, from torch.testing.assert_close's table.
DTYPE_TOLERANCES: dict[str, Tolerance] = {
    "float16": Tolerance(1e-3, 1e-5, "torch.testing default for float16"),
    "float32": Tolerance(1.3e-6, 1e-5, "torch.testing default for float32"),
    "float64": Tolerance(1e-7, 1e-7, "torch.testing default for float64"),
}


def precision(dtype: str) -> str:
    """The float type results of ``dtype`` inputs are judged in (integers compute exactly: float64)."""
    return dtype if dtype in DTYPE_TOLERANCES else "float64"


def tolerance_for(dtype: str) -> Tolerance:
    """The default tolerance for results computed in ``dtype``."""
    return DTYPE_TOLERANCES[precision(dtype)]


UNIT_ROUNDOFF = {"float16": 2.0**-11, "float32": 2.0**-24, "float64": 2.0**-53}
#: A comparison decides only where its allowance is at most this fraction of what it judges: a
#: result off by more than a tenth of the value (or of the difference between two semantics it
#: must tell apart) has to fail.  Wider than that, "within tolerance" no longer means "right".
DECISIVE = 0.1


#: Elements compared at once: a slice's float64 temporaries stay in cache.  A detection-sized
#: result (25M elements) compared whole makes a dozen 200 MB temporaries: seconds per comparison.
_SLICE = 1 << 16
#: np.finfo's figures, looked up once (metrics runs several times per case).
_TINY, _LARGEST = float(np.finfo(np.float64).tiny), float(np.finfo(np.float64).max)
_SUBNORMAL = {t: np.finfo(t).smallest_subnormal for t in DTYPE_TOLERANCES}


def undecided(
    tol: Tolerance,
    bound: np.ndarray | float,
    scale: np.ndarray | float,
    expected: np.ndarray,
    actual: np.ndarray,
    alternative: np.ndarray | None = None,
) -> Undecided | None:
    """Whether the allowance ``atol + rtol * |expected| + bound`` is small against what is judged.

    ``expected`` is the exact result the comparison holds ``actual`` to (its distance from it is
    reported as the accuracy, whatever the verdict).

    Two tests, both on finite elements:
    - the value: the derived ``bound`` must be at most DECISIVE x the element's ``scale`` (the
      mean |sample| of its bin; the dtype table's atol is the floor for near-zero scales);
    - with ``alternative`` (the result under the other semantics the comparison must tell apart:
      another framework's documentation, or a declared prediction), some element where the two
      differ by more than the dtype table's tolerance must have an allowance of at most DECISIVE x
      that difference; otherwise no element could have told them apart.
    Returns the evidence when either test fails (None: the comparison decides).  Both tests are
    first run slice by slice; the evidence is gathered over the whole arrays only when one fails.
    """
    e_all = np.asarray(expected)
    views = [_flat(v, e_all.shape) for v in (e_all, actual, bound, scale)]
    alt_all = None if alternative is None else _flat(alternative, e_all.shape)
    differs_somewhere = decisive_somewhere = False
    for lo in range(0, e_all.size, _SLICE):
        e, a, b, sc = (v if v.ndim == 0 else v[lo:lo + _SLICE] for v in views)
        finite, base, b, allowance, value = _allowance(tol, b, sc, e.astype(np.float64), a.astype(np.float64))
        if (finite & (b > DECISIVE * value)).any():
            return _undecided_whole(tol, bound, scale, expected, actual, alternative)
        if alt_all is not None:
            diff = _difference(finite, alt_all[lo:lo + _SLICE].astype(np.float64), e.astype(np.float64))
            differs = diff > base
            differs_somewhere = differs_somewhere or bool(differs.any())
            decisive_somewhere = decisive_somewhere or bool((differs & (allowance <= DECISIVE * diff)).any())
    if alt_all is None or not differs_somewhere or decisive_somewhere:
        return None  # the semantics coincide here, or some element tells them apart
    return _undecided_whole(tol, bound, scale, expected, actual, alternative)


def _flat(x: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` as a flat float array of ``shape``'s size (a view where it can be), a scalar as 0-d."""
    a = np.asarray(x)
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a if a.ndim == 0 else np.broadcast_to(a, shape).reshape(-1)


def _allowance(
    tol: Tolerance, bound: np.ndarray | float, scale: np.ndarray | float, e: np.ndarray, a: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per element of float64 ``e`` and ``a``: finite, the dtype table's allowance, the bound, the
    whole allowance and the value the bound is judged against (:func:`undecided`)."""
    finite = np.isfinite(e) & np.isfinite(a)
    base = tol.atol + tol.rtol * np.abs(np.where(finite, e, 0.0))
    b = np.broadcast_to(np.asarray(bound, dtype=np.float64), e.shape)
    value = np.maximum(np.broadcast_to(np.asarray(scale, dtype=np.float64), e.shape), tol.atol)
    return finite, base, b, base + b, value


def _difference(finite: np.ndarray, alt: np.ndarray, e: np.ndarray) -> np.ndarray:
    """|alternative - expected| where both sides and the alternative are finite, else 0."""
    with np.errstate(invalid="ignore"):
        return np.where(finite & np.isfinite(alt), np.abs(alt - e), 0.0)


def _undecided_whole(
    tol: Tolerance,
    bound: np.ndarray | float,
    scale: np.ndarray | float,
    expected: np.ndarray,
    actual: np.ndarray,
    alternative: np.ndarray | None,
) -> Undecided | None:
    """:func:`undecided` over the whole arrays, with its evidence."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    finite, base, b, allowance, value = _allowance(tol, bound, scale, e, a)
    with np.errstate(invalid="ignore"):
        exact_error = float(np.max(np.abs(a - e), where=finite, initial=0.0))
    bad_value = finite & (b > DECISIVE * value)
    if bad_value.any():
        with np.errstate(over="ignore"):
            ratio = np.where(bad_value, b / value, -1.0)
        i = np.unravel_index(int(np.argmax(ratio)), e.shape)
        return Undecided(int(bad_value.sum()), int(e.size), _index(i), float(allowance[i]), float(value[i]), "value", exact_error)
    if alternative is None:
        return None
    diff = _difference(finite, np.asarray(alternative, dtype=np.float64), e)
    differs = diff > base
    if not differs.any() or (differs & (allowance <= DECISIVE * diff)).any():
        return None  # the semantics coincide here, or some element tells them apart
    ratio = np.where(differs, allowance / np.maximum(diff, _TINY), np.inf)
    i = np.unravel_index(int(np.argmin(ratio)), e.shape)
    n = int(differs.sum())
    return Undecided(n, int(e.size), _index(i), float(allowance[i]), float(diff[i]), "documented difference", exact_error)


def _index(i: tuple[SupportsInt, ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in i)


def _ulp_distance(actual: np.ndarray, expected: np.ndarray, dtype: str) -> np.ndarray:
    """Distance in units of the last place of ``dtype`` at the expected value."""
    dtype = precision(dtype)
    spacing = np.spacing(np.abs(expected).astype(dtype)).astype(np.float64)
    tiny = _SUBNORMAL[dtype]
    distance: np.ndarray = np.abs(actual - expected) / np.maximum(spacing, tiny)
    return distance


def metrics(
    actual: np.ndarray, expected: np.ndarray, tol: Tolerance, dtype: str, bound: np.ndarray | float = 0.0
) -> Metrics:
    """Compare in float64.  NaN matches only NaN, +-Inf only the same infinity.

    An element is within tolerance when ``|a - e| <= atol + rtol * |e| + bound``.  Computed slice
    by slice (_SLICE elements); the pattern of the mismatched elements over the whole arrays.
    """
    a_all, e_all = np.broadcast_arrays(np.asarray(actual), np.asarray(expected))
    shape = e_all.shape
    flat_a, flat_e, flat_b = _flat(a_all, shape), _flat(e_all, shape), _flat(bound, shape)
    bad_all = np.zeros(e_all.size, dtype=bool)
    mismatched = nan_mismatch = 0
    max_abs, at, max_rel, max_ulp = -1.0, 0, 0.0, 0.0
    for lo in range(0, e_all.size, _SLICE):
        a = flat_a[lo:lo + _SLICE].astype(np.float64)
        e = flat_e[lo:lo + _SLICE].astype(np.float64)
        b = flat_b if flat_b.ndim == 0 else flat_b[lo:lo + _SLICE]
        if np.isfinite(a).all() and np.isfinite(e).all():  # the common case, without the masks (same numbers)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                diff = np.abs(a - e)
                bad = diff > tol.atol + tol.rtol * np.abs(e) + b
                special_bad = np.zeros(0, dtype=bool)
                rel = diff / np.maximum(np.abs(e), _TINY)
                ulp = _ulp_distance(a, e, dtype)
        else:
            a_nan, e_nan = np.isnan(a), np.isnan(e)
            nonfinite = ~np.isfinite(a) | ~np.isfinite(e)
            special_ok = (a_nan & e_nan) | (np.isinf(a) & (a == e))
            special_bad = nonfinite & ~special_ok
            finite = ~nonfinite
            with np.errstate(invalid="ignore", over="ignore"):
                diff = np.where(finite, np.abs(a - e), 0.0)
            bad = special_bad | (finite & (diff > tol.atol + tol.rtol * np.abs(np.where(finite, e, 0)) + b))
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                rel = np.where(finite, diff / np.maximum(np.abs(np.where(finite, e, 1.0)), _TINY), 0.0)
            with np.errstate(over="ignore"):
                ulp = np.where(finite, _ulp_distance(np.where(finite, a, 0), np.where(finite, e, 0), dtype), 0.0)
        rel = np.minimum(rel, _LARGEST)  # metrics stay finite numbers (JSON has no inf)
        ulp = np.minimum(ulp, _LARGEST)
        bad_all[lo:lo + _SLICE] = bad
        mismatched += int(bad.sum())
        nan_mismatch += int(special_bad.sum())
        i = int(np.argmax(diff))
        if diff[i] > max_abs:  # strictly: the first greatest, as argmax over the whole
            max_abs, at = float(diff[i]), lo + i
        max_rel = float(np.maximum(max_rel, rel.max()))  # NaN-propagating, as .max() over the whole
        max_ulp = float(np.maximum(max_ulp, ulp.max()))
    index = tuple(int(i) for i in np.unravel_index(at, shape)) if e_all.size else None
    found = ""
    if mismatched and len(shape) == 4:
        found = pattern(a_all.astype(np.float64), e_all.astype(np.float64), bad_all.reshape(shape))
    return Metrics(
        total=int(e_all.size),
        mismatched=mismatched,
        max_abs=max(max_abs, 0.0),
        max_abs_index=index,
        max_rel=max_rel,
        max_ulp=max_ulp,
        nan_mismatch=nan_mismatch,
        pattern=found,
    )


def pattern(actual: np.ndarray, expected: np.ndarray, bad: np.ndarray) -> str:
    """Classify where and how ``[K, C, PH, PW]`` results differ, so a reader sees the cause's shape.

    Where: NaN against numbers, only some rois, only the outer ring of bins.
    How (over the mismatched finite elements): a uniform shift, a scale factor, a sign flip.
    """
    notes = []
    nan_vs_number = np.isnan(actual) != np.isnan(expected)
    if nan_vs_number.any():
        side = "actual" if np.isnan(actual[nan_vs_number]).all() else "expected" if np.isnan(expected[nan_vs_number]).all() else "both sides"
        notes.append(f"NaN in {side} where the other has numbers ({int(nan_vs_number.sum())} elements)")
    rois = np.flatnonzero(bad.any(axis=(1, 2, 3)))
    if len(rois) < bad.shape[0]:
        notes.append(f"only rois {rois[:8].tolist()}{'...' if len(rois) > 8 else ''} ({len(rois)} of {bad.shape[0]})")
    ph, pw = bad.shape[2:]
    if ph > 2 and pw > 2 and not bad[:, :, 1:-1, 1:-1].any():
        notes.append("only border bins (first/last row or column of the output grid)")
    finite = bad & np.isfinite(actual) & np.isfinite(expected)
    if finite.sum() >= 3:
        a, e = actual[finite], expected[finite]
        d = a - e
        spread = np.abs(d - d.mean()).max()
        if spread <= 0.05 * abs(d.mean()):
            notes.append(f"uniform shift of {d.mean():.3g}")
        elif np.allclose(a, -e, rtol=1e-3, atol=0):
            notes.append("sign flipped")
        elif np.abs(e).max() > 0:
            factor = float(np.dot(a, e) / np.dot(e, e))
            if np.allclose(a, factor * e, rtol=1e-3, atol=1e-12) and abs(factor - 1) > 1e-6:
                notes.append(f"scaled by {factor:.6g}")
    return "; ".join(notes) or "no simple pattern"


def shape_problem(actual: np.ndarray, expected: np.ndarray) -> str | None:
    """Shape is checked before values: a shape difference is its own message."""
    if actual.shape != expected.shape:
        return f"shape {tuple(actual.shape)} where {tuple(expected.shape)} was expected"
    return None


def describe(m: Metrics, tol: Tolerance) -> str:
    """The single mismatch-message shape used everywhere (terminal, reports)."""
    pct = 100.0 * m.mismatched / m.total if m.total else 0.0
    parts = [f"Mismatched elements: {m.mismatched} / {m.total} ({pct:.1f}%)"]
    if m.nan_mismatch:
        parts.append(f"NaN/Inf at different positions: {m.nan_mismatch}")
    parts.append(
        f"Greatest absolute difference: {m.max_abs:.3g} at index {m.max_abs_index} "
        f"(up to {tol.atol:g} allowed, plus {tol.rtol:g} x |expected|)"
    )
    parts.append(f"Greatest relative difference: {m.max_rel:.3g}; greatest ULP distance: {m.max_ulp:.3g}")
    if m.pattern:
        parts.append(f"Pattern: {m.pattern}")
    return ". ".join(parts)
