"""What rounding in a dtype can do to a roi_align result: elementwise bounds on a correct kernel's
distance from the float64 reference, and the scale each bound is judged against
(parity.engine.compare.undecided)."""
from __future__ import annotations

import dataclasses

import numpy as np

from parity.engine.compare import UNIT_ROUNDOFF, precision
from parity.ops.roi_align import geometry, reference, tables

#: Roundings in one sample position: scale, offset, bin size, step within the bin.
COORDINATE_ROUNDINGS = 4.0
#: Roundings per sample besides the serial sum: four products, three adds, the division.
SAMPLE_ROUNDINGS = 8.0


def _geometries(dtype: str) -> tuple[str, ...]:
    """The sample geometries a bound covers: exact positions, and positions rounded to ``dtype``
    (the same thing, and evaluated once, when ``dtype`` is float64)."""
    return ("float64",) if dtype == "float64" else ("float64", dtype)


def rounding_bound(
    features: np.ndarray,
    rois: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: geometry.Convention,
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
    convention: geometry.Convention,
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

    This is the definition; the reference worker computes the same numbers together with the
    result in one pass per geometry (parity.ops.roi_align.fused, tested bit for bit against this).
    """
    dtype = precision(dtype)
    u = UNIT_ROUNDOFF[dtype]
    x = np.asarray(features, dtype=np.float64)
    # Magnitudes of the sums themselves: without a result-shaping overflow rule.
    convention = dataclasses.replace(convention, sum_limit=None)
    gh, gw, reach = geometry.sampling_grid(rois, x.shape[0], output_size, spatial_scale, sampling_ratio, convention)
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
        tables.magnitude_and_slope(np.ascontiguousarray(x), table)
    rois = np.asarray(rois, dtype=np.float64)
    both: np.ndarray | None = None
    for g in _geometries(dtype):
        one = reference.roi_align_channels_last(
            table, (n, 2 * c, h, w), rois, geometry.pooled_shape(output_size), spatial_scale, sampling_ratio,
            convention, nan_mode="weighted", geometry_dtype=g,
        )
        both = one if both is None else np.maximum(both, one, out=both)
    assert both is not None  # the loop runs at least once
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
    convention: geometry.Convention,
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
    gh, gw, reach = geometry.sampling_grid(rois, shape[0], output_size, spatial_scale, sampling_ratio, convention)
    steps = np.maximum(gh * gw, 1) + SAMPLE_ROUNDINGS + len(rois) + 4 * COORDINATE_ROUNDINGS * np.maximum(reach, 1.0)
    scaled = np.abs(weight) * (u * steps)[:, None, None, None]
    bound = np.maximum.reduce([reference.roi_align_backward(scaled, shape, *args, geometry_dtype=g) for g in _geometries(dtype)])
    return np.where(np.isfinite(bound), bound, 0.0)  # NaN, +inf: no finite bound (every term is >= 0)


def gradient_scale(
    shape: tuple[int, ...],
    rois: np.ndarray,
    weight: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: geometry.Convention,
    dtype: str,
) -> np.ndarray:
    """Per feature pixel, the sum of |contributions| its gradient collects (the backward of |W|,
    over exact and ``dtype``-rounded positions): the scale a gradient's allowance is judged against."""
    args = (rois, output_size, spatial_scale, sampling_ratio, convention)
    scale = np.maximum.reduce([reference.roi_align_backward(np.abs(weight), shape, *args, geometry_dtype=g) for g in _geometries(precision(dtype))])
    finite: np.ndarray = np.nan_to_num(scale, nan=0.0, posinf=0.0)
    return finite
