"""A case's forward terms under one semantics from one pass over the samples per geometry.

The reference answers each semantics with four arrays: the result, the result with sampling
positions rounded to the case's dtype (``geom``), the rounding bound and its scale
(parity.ops.roi_align.bounds.rounding_bound_and_scale).  Computed apart, they are six passes over
the samples (values, then magnitudes and slopes, each in two geometries) plus elementwise NumPy
over result-sized arrays; on a detection-sized map (W4 of ``parity bench``) that is most of a
case's time and several result-sized temporaries.  Here each geometry is one pass
(parity.ops.roi_align.kernel.forward_terms) that reads values, magnitudes and slopes of a sample
from one channels-last table, built once per case and shared by every semantics
(:class:`FeatureTable`), and the bound is finished in place (kernel.finish_bound).  Every number
equals the separate passes' bit for bit (tests/test_fused.py).

Only plain conventions take this path (:func:`fusable`): the rules that shape a result after its
samples (an empty-grid NaN, a float16 overflow or serial sum) stay with the separate passes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parity.engine.compare import UNIT_ROUNDOFF, precision
from parity.ops.roi_align import geometry, kernel, tables
from parity.ops.roi_align.bounds import COORDINATE_ROUNDINGS, SAMPLE_ROUNDINGS


@dataclass(frozen=True)
class Terms:
    """Everything the judge reads about one semantics' forward: ``[K, C, PH, PW]`` float64 each."""

    result: np.ndarray
    bound: np.ndarray
    scale: np.ndarray
    geom: np.ndarray


def fusable(features: np.ndarray, rois: np.ndarray, output_size: tuple[int, int], convention: geometry.Convention) -> bool:
    """Whether :func:`forward_terms` gives this case's terms: a non-empty problem (so validation
    happens in the same order as in the separate passes) under a convention whose every rule acts
    on where samples are taken, not on the sums afterwards."""
    ph, pw = output_size
    return (
        features.ndim == 4
        and features.dtype.kind == "f"
        and min(features.shape) > 0
        and rois.ndim == 2
        and rois.shape[0] > 0
        and rois.shape[1] == 5
        and ph > 0
        and pw > 0
        and not convention.empty_grid_nan
        and convention.sum_limit is None
        and convention.accumulate == "exact"
    )


class FeatureTable:
    """One case's features as the table kernel.forward_terms reads, built on first use.

    ``[N * H * W + 1, 2C]`` float64: values, then slopes, last row zeros (what a zero-weight corner
    reads).  W4: 890 MB, held only while the case is evaluated.
    """

    def __init__(self, features: np.ndarray):
        self.features = features
        self._table: np.ndarray | None = None

    @property
    def table(self) -> np.ndarray:
        if self._table is None:
            x = self.features
            if x.dtype not in (np.float32, np.float64):
                x = x.astype(np.float64)  # float16: exact in float64, and compiled once
            n, c, h, w = x.shape
            table = np.empty((n * h * w + 1, 2 * c))
            table[-1] = 0.0
            tables.values_and_slopes(np.ascontiguousarray(x), table)
            self._table = table
        return self._table


def forward_terms(
    features: FeatureTable,
    rois: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    convention: geometry.Convention,
    dtype: str,
) -> Terms:
    """The result, bound, scale and dtype-geometry result of one :func:`fusable` semantics.

    Equal to ``reference.roi_align`` (exact and ``geometry_dtype=dtype``) and
    ``bounds.rounding_bound_and_scale`` of the same arguments.
    """
    dtype = precision(dtype)
    x = features.features
    n, c, h, w = x.shape
    ph, pw = output_size
    r = np.asarray(rois, dtype=np.float64)
    s = float(spatial_scale)
    shape = (len(r), c, ph, pw)
    result = np.zeros(shape)
    geom = result if dtype == "float64" else np.zeros(shape)
    magnitude, slope = np.zeros(shape), np.zeros(shape)
    for i, (g, out) in enumerate((("float64", result),) if dtype == "float64" else (("float64", result), (dtype, geom))):
        win, batches = geometry.sample_geometry(r, n, s, convention, ph, pw, sampling_ratio, g)
        for ids, ypos, yoff, xpos, xoff in batches:
            kernel.forward_terms(features.table, h, w, win.batch, ids, ypos, yoff, xpos, xoff, geometry.cache_order(win, ids),
                                 convention.outside_reads_origin, i == 0, out, magnitude, slope)
    gh, gw, reach = geometry.sampling_grid(r, n, output_size, s, sampling_ratio, convention)
    steps = (np.maximum(gh * gw, 1) + SAMPLE_ROUNDINGS).astype(np.float64)
    coordinate = COORDINATE_ROUNDINGS * np.maximum(reach, 1.0)
    kernel.finish_bound(magnitude, slope, steps, coordinate, UNIT_ROUNDOFF[dtype])
    return Terms(result, slope, magnitude, geom)
