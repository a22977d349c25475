"""Tolerance policy, float64 error metrics and the one mismatch-message shape."""
from __future__ import annotations

import dataclasses

import numpy as np

from parity import kernel, reference
from parity.model import Metrics, Tolerance, Undecided

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
#: Roundings in one sample position: scale, offset, bin size, step within the bin.
COORDINATE_ROUNDINGS = 4.0
#: Roundings per sample besides the serial sum: four products, three adds, the division.
SAMPLE_ROUNDINGS = 8.0


def rounding_bound(
    features: np.ndarray,
    rois: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: reference.Convention,
    dtype: str,
) -> np.ndarray:
    """Elementwise bound on how far a correct kernel computing in ``dtype`` can be from the reference
    (:func:`rounding_bound_and_scale` without the scale)."""
    return rounding_bound_and_scale(features, rois, output_size, spatial_scale, sampling_ratio, convention, dtype)[0]


def rounding_bound_and_scale(
    features: np.ndarray,
    rois: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: reference.Convention,
    dtype: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise bound on how far a correct kernel computing in ``dtype`` can be from the reference.

    Two sources, both first-order in the unit roundoff u of ``dtype``:
    - arithmetic: each bin is a serial sum of gh*gw samples, each a few roundings, so its error is
      at most u * (gh*gw + SAMPLE_ROUNDINGS) * roi_align(|X|);
    - coordinates: a sample position of magnitude R is off by up to COORDINATE_ROUNDINGS * u * R
      pixels, which moves a bilinear value by that times the local slope, roi_align(slope(X)).
    A float32 result on a map with coordinates near 1000 therefore gets a looser bound than one
    near 10, and an error that no rounding explains (a shifted window) still exceeds it.

    Also returns the scale of each element, roi_align(|X|) (the mean |sample| of its bin): what
    the bound must be small against for a comparison to decide anything (:func:`undecided`).
    """
    dtype = precision(dtype)
    u = UNIT_ROUNDOFF[dtype]
    x = np.asarray(features, dtype=np.float64)
    # Magnitudes of the sums themselves: without a result-shaping overflow rule.
    convention = dataclasses.replace(convention, sum_limit=None)
    gh, gw, reach = reference.sampling_grid(rois, x.shape[0], output_size, spatial_scale, sampling_ratio, convention)
    steps = (np.maximum(gh * gw, 1) + SAMPLE_ROUNDINGS)[:, None, None, None]
    # Over both the exact and the dtype-rounded sampling positions, so that a bin which rounding
    # moves onto the image (exactly 0 in the reference) is bounded by what it then reads.  |X| and
    # its local slope (the largest difference to a 4-neighbour) go through the kernel as one
    # channels-last table of 2C channels, built in one pass.
    n, c, h, w = x.shape
    table = None
    if h > 0 and w > 0:
        table = np.empty((n * h * w + 1, 2 * c))
        table[-1] = 0.0
        kernel.magnitude_and_slope(np.ascontiguousarray(x), table)
    rois = np.asarray(rois, dtype=np.float64)
    both = None
    for g in ("float64",) if dtype == "float64" else ("float64", dtype):
        one = reference.roi_align_channels_last(
            table, (n, 2 * c, h, w), rois, reference.pooled_shape(output_size), spatial_scale, sampling_ratio,
            convention, nan_mode="weighted", geometry_dtype=g,
        )
        both = one if both is None else np.maximum(both, one, out=both)
    magnitude, slope = both[:, :c], both[:, c:]
    bound = u * (steps * magnitude + COORDINATE_ROUNDINGS * np.maximum(reach, 1.0)[:, None, None, None] * slope)
    # NaN, +inf: no finite bound (every term is >= 0)
    return np.where(np.isfinite(bound), bound, 0.0), np.where(np.isfinite(magnitude), magnitude, 0.0)


def rounding_bound_grad(
    shape: tuple[int, ...],
    rois: np.ndarray,
    weight: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: reference.Convention,
    dtype: str,
) -> np.ndarray:
    """Elementwise bound for the gradient of ``sum(weight * roi_align(x))`` computed in ``dtype``.

    The gradient scatters ``weight * bilinear weight / count`` to the pixels each sample read.
    Per roi, each contribution carries the forward's roundings (gh*gw + SAMPLE_ROUNDINGS), the
    serial accumulation into a pixel adds up to one rounding per roi, and a sample position off
    by COORDINATE_ROUNDINGS * u * R pixels changes each bilinear weight by as much: so the bound
    is the exact backward of ``|weight| * u * (steps + K + 4 * COORDINATE_ROUNDINGS * R)``.
    """
    dtype = precision(dtype)
    u = UNIT_ROUNDOFF[dtype]
    args = (rois, output_size, spatial_scale, sampling_ratio, convention)
    gh, gw, reach = reference.sampling_grid(rois, shape[0], output_size, spatial_scale, sampling_ratio, convention)
    steps = np.maximum(gh * gw, 1) + SAMPLE_ROUNDINGS + len(rois) + 4 * COORDINATE_ROUNDINGS * np.maximum(reach, 1.0)
    scaled = np.abs(weight) * (u * steps)[:, None, None, None]
    bound = np.maximum(
        *(reference.roi_align_backward(scaled, shape, *args, geometry_dtype=g) for g in ("float64", dtype))
    )
    return np.where(np.isfinite(bound), bound, 0.0)  # NaN, +inf: no finite bound (every term is >= 0)


def gradient_scale(
    shape: tuple[int, ...],
    rois: np.ndarray,
    weight: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: reference.Convention,
    dtype: str,
) -> np.ndarray:
    """Per feature pixel, the sum of |contributions| its gradient collects (the backward of |W|,
    over exact and ``dtype``-rounded positions): the scale a gradient's allowance is judged against."""
    args = (rois, output_size, spatial_scale, sampling_ratio, convention)
    geometries = ("float64",) if precision(dtype) == "float64" else ("float64", precision(dtype))
    scale = np.maximum.reduce([reference.roi_align_backward(np.abs(weight), shape, *args, geometry_dtype=g) for g in geometries])
    return np.nan_to_num(scale, nan=0.0, posinf=0.0)


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


def _index(i: tuple) -> tuple[int, ...]:
    return tuple(int(v) for v in i)


def _ulp_distance(actual: np.ndarray, expected: np.ndarray, dtype: str) -> np.ndarray:
    """Distance in units of the last place of ``dtype`` at the expected value."""
    dtype = precision(dtype)
    spacing = np.spacing(np.abs(expected).astype(dtype)).astype(np.float64)
    tiny = np.finfo(dtype).smallest_subnormal
    return np.abs(actual - expected) / np.maximum(spacing, tiny)


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
