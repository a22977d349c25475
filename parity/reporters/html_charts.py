"""The charts of parity.html: each comparison's heatmap of |diff| and each pair's error histogram.

Both are drawn from stored numbers only (the run's ``arrays/`` and the comparisons' metrics): the
heatmap as a canvas that the page's script paints (report.js), the histogram as inline SVG.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from parity.engine import text
from parity.engine.model import Comparison, Verdict

#: A heatmap shows at most this many rois (rows).
MAX_ROIS = 200
_DECADES = 6  # a heatmap's colour scale spans at most this many decades below its largest value
#: Histogram colour of each verdict group (PASS, EXPECTED_DIVERGENCE, UNDECIDABLE, unexpected).
GROUPS = (("PASS", "#2da44e"), ("EXPECTED_DIVERGENCE", "#0969da"), ("UNDECIDABLE", "#bf8700"), ("unexpected", "#cf222e"))


def number(x: float | None, spec: str = ".3g") -> str:
    """A number as text; NaN and infinities too (never an exception, never an empty cell)."""
    if x is None:
        return "-"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


def sort_key(x: float | None) -> str:
    """A table cell's sort key (read by the page's script): the number in full, empty for none."""
    return "" if x is None else number(x, ".17g")


# ---------------------------------------------------------------- heatmap


def expected_key(c: Comparison) -> str:
    """The npz entry holding a comparison's expected side."""
    return f"reference.{c.actual}" if c.expected.startswith("reference") else c.expected


def panel_arrays(c: Comparison, arrays: dict[str, np.ndarray] | str) -> tuple[np.ndarray, np.ndarray] | str:
    """(actual, expected) in float64, or why there is no heatmap (``arrays`` is already that reason
    when the case's stored arrays could not be read)."""
    if isinstance(arrays, str):
        return arrays
    key = expected_key(c)
    missing = [k for k in (c.actual, key) if k not in arrays]
    if missing:
        return f"no stored output for {', '.join(missing)}"
    a, e = (np.asarray(arrays[k], dtype=np.float64) for k in (c.actual, key))
    if a.shape != e.shape:
        return f"shape {a.shape} where {e.shape} was expected"
    if a.ndim not in (2, 4) or a.size == 0:
        return f"output of shape {a.shape} is neither [K, C, PH, PW] nor a [N, M] matrix"
    return a, e


def heatmap(a: np.ndarray, e: np.ndarray) -> tuple[str, str]:
    """A canvas drawn by the page's script (the first MAX_ROIS rows), and the table of the five worst elements.

    A ``[K, C, PH, PW]`` output is drawn one roi per row, its bins as columns (max over channels);
    an ``[N, M]`` matrix as it is.
    """
    matrix = a.ndim == 2
    a4 = a[:, None, None, :] if matrix else a
    rois, _, ph, pw = a4.shape
    k = min(rois, MAX_ROIS)
    nonfinite = ~np.isfinite(a) | ~np.isfinite(e)
    special = nonfinite & ~((np.isnan(a) & np.isnan(e)) | (np.isinf(a) & (a == e)))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = a - e
    absd = np.where(nonfinite, 0.0, np.abs(np.where(nonfinite, 0.0, diff)))
    absd4, special4 = (absd[:, None, None, :], special[:, None, None, :]) if matrix else (absd, special)
    bins = absd4[:k].max(axis=1).reshape(k, ph * pw)
    flagged = special4[:k].any(axis=1).reshape(k, ph * pw)
    cells = ["n" if f else ("0" if v == 0 else format(v, ".3g")) for v, f in zip(bins.ravel(), flagged.ravel())]
    positive = bins[(bins > 0) & ~flagged]
    hi = math.log10(positive.max()) if positive.size else 0.0
    lo = max(math.log10(positive.min()), hi - _DECADES) if positive.size else 0.0  # smaller values: darkest
    cw = max(2, min(24, 840 // (ph * pw)))
    ch = max(2, min(24, 320 // k))
    canvas = (
        f'<canvas class="heatmap" width="{cw * ph * pw}" height="{ch * k}" data-rois="{k}" data-bins="{ph * pw}" '
        f'data-pw="{pw}" data-cw="{cw}" data-ch="{ch}" data-lo="{lo:.4g}" data-hi="{hi:.4g}" data-v="{",".join(cells)}">'
        "</canvas>"
    )
    legend = (
        f'<div class="legend"><span>{"&le; " if positive.size and 10**lo > positive.min() else ""}'
        f'{number(10**lo if positive.size else 0.0)}</span><span class="ramp"></span>'
        f'<span>{number(10**hi if positive.size else 0.0)}</span><span class="sw zero"></span>0'
        f'<span class="sw nan"></span>NaN/Inf at different positions</div>'
    )
    first = f" (the first {k} of {rois})" if k < rois else ""
    columns = (
        f"columns: the {pw} entries of each row; colour: |actual &minus; expected|, log scale. " if matrix else
        f"columns: {ph}&times;{pw} = {ph * pw} output bins (row-major, a light line between output rows); colour: max over channels of |actual &minus; expected|, log scale. "
    )
    caption = (
        f'<p class="note">rows: {k} {"rows" if matrix else "rois"}{first}; {columns}'
        '<span class="readout">Point at a cell for its value.</span></p>'
    )
    # The five worst elements: up to two NaN/Inf disagreements, then the largest finite differences.
    flat_special = np.flatnonzero(special)[:2]
    finite_order = np.argsort(-np.where(nonfinite, -1.0, absd).ravel(), kind="stable")
    worst = [*flat_special, *[i for i in finite_order[: 5 - len(flat_special)] if not nonfinite.flat[i]]]
    rows = []
    for flat in worst:
        idx = tuple(int(i) for i in np.unravel_index(int(flat), a.shape))
        av, ev, dv = float(a[idx]), float(e[idx]), float(diff[idx])
        rows.append(f"<tr><td>{idx}</td><td>{number(av, '.7g')}</td><td>{number(ev, '.7g')}</td><td>{number(dv, '.3g')}</td></tr>")
    table = (
        f'<table class="worst"><thead><tr><th>index {"(row, column)" if matrix else "(roi, channel, y, x)"}</th><th>actual</th><th>expected</th>'
        f"<th>diff</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return f'<div class="heat">{canvas}{legend}{caption}</div>', table


# ---------------------------------------------------------------- histogram


def _group(v: Verdict) -> str:
    return v.value if v.value in ("PASS", "EXPECTED_DIVERGENCE", "UNDECIDABLE") else "unexpected"


def histogram(pair: str, values: list[tuple[float, Verdict]], lo: int, hi: int, width: int = 410, height: int = 190) -> str:
    """Stacked counts of log10(max_abs) in half-decade bins, plus 'exactly 0' and 'NaN/inf' columns."""
    edges = [lo + i / 2 for i in range(2 * (hi - lo))]
    names = ["exactly 0"] + [f"1e{x:g} to 1e{x + 0.5:g}" for x in edges] + ["NaN/inf"]
    ticks = ["0"] + [f"1e{int(x)}" if x.is_integer() else "" for x in edges] + ["NaN/inf"]
    counts: list[Counter[str]] = [Counter() for _ in names]
    for x, v in values:
        if not math.isfinite(x):
            col = len(names) - 1
        elif x <= 0:
            col = 0
        else:
            col = 1 + min(max(int((math.log10(x) - lo) * 2), 0), len(edges) - 1)
        counts[col][_group(v)] += 1
    if not counts[-1]:
        names, ticks, counts = names[:-1], ticks[:-1], counts[:-1]
    left, bottom, top = 34, 34, 10
    plot_w, plot_h = width - left - 6, height - bottom - top
    bw = plot_w / len(names)
    peak = max((sum(c.values()) for c in counts), default=0) or 1
    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 8}" class="tick" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" class="tick" text-anchor="end">0</text>',
    ]
    stride = max(1, math.ceil(34 / (2 * bw)))  # decades between labels, so that labels do not overlap
    last = -math.inf
    for i, (name, tick, c) in enumerate(zip(names, ticks, counts)):
        x = left + i * bw
        if tick.startswith("1e") and (int(tick[2:]) % stride or x - last < 34):
            tick = ""
        y: float = top + plot_h
        for group, colour in GROUPS:
            n = c.get(group, 0)
            if n:
                h = plot_h * n / peak
                y -= h
                parts.append(
                    f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{text.html(name)}: {n} {group}</title></rect>"
                )
        if tick:
            last = x
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + plot_h + 14}" class="tick" text-anchor="middle">{text.html(tick)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" class="tick" text-anchor="middle">max |diff|</text>')
    return (
        f'<figure class="hist"><figcaption>{text.html(pair)}</figcaption>'
        f'<svg class="histogram" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{text.html(pair)}: histogram of log10 max abs error">{"".join(parts)}</svg></figure>'
    )
