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
    Returns the evidence when either test fails (None: the comparison decides).
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    finite = np.isfinite(e) & np.isfinite(a)
    base = tol.atol + tol.rtol * np.abs(np.where(finite, e, 0.0))
    b = np.broadcast_to(np.asarray(bound, dtype=np.float64), e.shape)
    allowance = base + b
    value = np.maximum(np.broadcast_to(np.asarray(scale, dtype=np.float64), e.shape), tol.atol)
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
    alt = np.asarray(alternative, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.where(finite & np.isfinite(alt), np.abs(alt - e), 0.0)
    differs = diff > base
    if not differs.any() or (differs & (allowance <= DECISIVE * diff)).any():
        return None  # the semantics coincide here, or some element tells them apart
    ratio = np.where(differs, allowance / np.maximum(diff, np.finfo(np.float64).tiny), np.inf)
    i = np.unravel_index(int(np.argmin(ratio)), e.shape)
    n = int(differs.sum())
    return Undecided(n, int(e.size), _index(i), float(allowance[i]), float(diff[i]), "documented difference", exact_error)


def _index(i: tuple[SupportsInt, ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in i)


def _ulp_distance(actual: np.ndarray, expected: np.ndarray, dtype: str) -> np.ndarray:
    """Distance in units of the last place of ``dtype`` at the expected value."""
    dtype = precision(dtype)
    spacing = np.spacing(np.abs(expected).astype(dtype)).astype(np.float64)
    tiny = np.finfo(dtype).smallest_subnormal
    distance: np.ndarray = np.abs(actual - expected) / np.maximum(spacing, tiny)
    return distance


def metrics(
    actual: np.ndarray, expected: np.ndarray, tol: Tolerance, dtype: str, bound: np.ndarray | float = 0.0
) -> Metrics:
    """Compare in float64.  NaN matches only NaN, +-Inf only the same infinity.

    An element is within tolerance when ``|a - e| <= atol + rtol * |e| + bound``.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    a_nan, e_nan = np.isnan(a), np.isnan(e)
    nonfinite = ~np.isfinite(a) | ~np.isfinite(e)
    special_ok = (a_nan & e_nan) | (np.isinf(a) & (a == e))
    special_bad = nonfinite & ~special_ok
    finite = ~nonfinite
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(finite, np.abs(a - e), 0.0)
    bad = special_bad | (finite & (diff > tol.atol + tol.rtol * np.abs(np.where(finite, e, 0)) + bound))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rel = np.where(finite, diff / np.maximum(np.abs(np.where(finite, e, 1.0)), np.finfo(np.float64).tiny), 0.0)
    rel = np.minimum(rel, np.finfo(np.float64).max)  # metrics stay finite numbers (JSON has no inf)
    with np.errstate(over="ignore"):
        ulp = np.where(finite, _ulp_distance(np.where(finite, a, 0), np.where(finite, e, 0), dtype), 0.0)
    ulp = np.minimum(ulp, np.finfo(np.float64).max)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.size else None
    shape = pattern(a, e, bad) if bad.any() and a.ndim == 4 else ""
    return Metrics(
        total=int(a.size),
        mismatched=int(bad.sum()),
        max_abs=float(diff.max()) if diff.size else 0.0,
        max_abs_index=index,
        max_rel=float(rel.max()) if rel.size else 0.0,
        max_ulp=float(ulp.max()) if ulp.size else 0.0,
        nan_mismatch=int(special_bad.sum()),
        pattern=shape,
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
