"""``parity.html``: one self-contained page (inline CSS, JS and SVG; nothing fetched) for people to read.

Summary, error distribution, divergences, a filterable table of every comparison, and a detail
panel (heatmap of |diff| over the output bins, worst elements, explanation, repro command) for
each comparison that differs.  Numbers come from the run's ``arrays/``; no verdict is computed here.
"""
from __future__ import annotations

import math
import zipfile
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np

from parity.engine import commands, summary, text
from parity import ops
from parity.engine.model import Case, Comparison, Verdict
from parity.engine.session import RunReport, arrays_path

#: The page stays under this size: detail panels past it are left out (and counted).
MAX_BYTES = 10_000_000
#: A heatmap shows at most this many rois (rows).
MAX_ROIS = 200
#: Verdicts that get a detail panel (those with numbers get a heatmap); unexpected ones are shown first.
DETAILED = (
    Verdict.MISMATCH, Verdict.DIVERGENCE_CHANGED, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT, Verdict.EXPECTED_DIVERGENCE,
    Verdict.UNDECIDABLE,
)
_VERDICTS = [v.value for v in Verdict]
_DECADES = 6  # a heatmap's colour scale spans at most this many decades below its largest value
_GROUPS = (("PASS", "#2da44e"), ("EXPECTED_DIVERGENCE", "#0969da"), ("UNDECIDABLE", "#bf8700"), ("unexpected", "#cf222e"))


def _e(x: object) -> str:
    return text.html(x)


def _num(x: float | None, spec: str = ".3g") -> str:
    """A number as text; NaN and infinities too (never an exception, never an empty cell)."""
    if x is None:
        return "-"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


def _sort_key(x: float | None) -> str:
    return "" if x is None else _num(x, ".17g")


# ---------------------------------------------------------------- heatmap data


def expected_key(c: Comparison) -> str:
    """The npz entry holding a comparison's expected side."""
    return f"reference.{c.actual}" if c.expected.startswith("reference") else c.expected


def _panel_arrays(c: Comparison, arrays: dict[str, np.ndarray] | str) -> tuple[np.ndarray, np.ndarray] | str:
    """(actual, expected) in float64, or why there is no heatmap."""
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


def _heatmap(a: np.ndarray, e: np.ndarray) -> tuple[str, str]:
    """A canvas drawn by the page's script (the first MAX_ROIS rows), and the table of the five worst elements.

    A ``[K, C, PH, PW]`` output is drawn one roi per row, its bins as columns (max over channels);
    an ``[N, M]`` matrix as it is.
    """
    matrix = a.ndim == 2
    a4, e4 = (a[:, None, None, :], e[:, None, None, :]) if matrix else (a, e)
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
        f'{_num(10**lo if positive.size else 0.0)}</span><span class="ramp"></span>'
        f'<span>{_num(10**hi if positive.size else 0.0)}</span><span class="sw zero"></span>0'
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
        rows.append(f"<tr><td>{idx}</td><td>{_num(av, '.7g')}</td><td>{_num(ev, '.7g')}</td><td>{_num(dv, '.3g')}</td></tr>")
    table = (
        f'<table class="worst"><thead><tr><th>index {"(row, column)" if matrix else "(roi, channel, y, x)"}</th><th>actual</th><th>expected</th>'
        f"<th>diff</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return f'<div class="heat">{canvas}{legend}{caption}</div>', table


# ---------------------------------------------------------------- page parts


def _summary(report: RunReport) -> str:
    counts = summary.verdict_counts(report)
    present = [v for v in _VERDICTS if any(v in c for c in counts.values())]
    head = "".join(f'<th class="v-{v}">{v}</th>' for v in present)
    body = "".join(
        f"<tr><th>{_e(pair)}</th>"
        + "".join(f'<td class="{"v-" + v if c.get(v) else "zero"}">{c.get(v, 0)}</td>' for v in present)
        + "</tr>"
        for pair, c in counts.items()
    )
    bad = len(summary.unexpected(report))
    rate = report.cases / report.wall_seconds if report.wall_seconds else 0.0
    status = (
        f'<p class="status bad">{bad} unexpected result{"s" if bad != 1 else ""}</p>'
        if bad
        else '<p class="status good">No unexpected result</p>'
    )
    versions = ", ".join(f"{_e(k)} {_e(v)}" for k, v in sorted(report.versions.items())) or "-"
    meta = [
        ("cases", f"{report.cases}" + (f" ({report.reused} reused from an earlier run)" if report.reused else "")),
        ("runners", _e(", ".join(report.runners))),
        ("versions", versions),
        ("machine", _e(report.machine)),
        ("wall time", f"{report.wall_seconds:.1f} s ({report.startup_seconds:.1f} s worker start-up)"),
        ("throughput", f"{rate:.1f} cases/s"),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta)
    return (
        f'<section id="summary"><h2>Summary</h2>{status}'
        f'<div class="row"><table class="counts"><thead><tr><th>pair</th>{head}</tr></thead><tbody>{body}</tbody></table>'
        f"<dl>{dl}</dl></div></section>"
    )


def _divergences(report: RunReport) -> str:
    items = []
    for s in summary.divergences_seen(report):
        kind = "documented" if s.divergence.documented else "found by measurement"
        items.append(
            f"<li><b>{_e(s.divergence.name)}</b> ({kind}): {s.cases} cases, largest difference explained "
            f"{_num(s.max_abs)} (e.g. <code>{_e(s.example)}</code>)<p>{_e(s.divergence.explanation)}</p>"
            + "".join(f'<p class="note">Came back: <code>{_e(h)}</code></p>' for h in s.held)
            + f'<p class="note">Evidence: {_e(s.divergence.evidence)}</p></li>'
        )
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>None.</p>"
    return f'<section id="divergences"><h2>Divergences observed</h2>{body}</section>'


def _group(v: Verdict) -> str:
    return v.value if v.value in ("PASS", "EXPECTED_DIVERGENCE", "UNDECIDABLE") else "unexpected"


def _histogram(pair: str, values: list[tuple[float, Verdict]], lo: int, hi: int, width: int = 410, height: int = 190) -> str:
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
        y = top + plot_h
        for group, colour in _GROUPS:
            n = c.get(group, 0)
            if n:
                h = plot_h * n / peak
                y -= h
                parts.append(
                    f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                    f"<title>{_e(name)}: {n} {group}</title></rect>"
                )
        if tick:
            last = x
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + plot_h + 14}" class="tick" text-anchor="middle">{_e(tick)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 4}" class="tick" text-anchor="middle">max |diff|</text>')
    return (
        f'<figure class="hist"><figcaption>{_e(pair)}</figcaption>'
        f'<svg class="histogram" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(pair)}: histogram of log10 max abs error">{"".join(parts)}</svg></figure>'
    )


def _distribution(report: RunReport) -> str:
    per_pair: dict[str, list[tuple[float, Verdict]]] = {}
    no_metrics: Counter[str] = Counter()
    for c in report.comparisons:
        if c.metrics is None:
            no_metrics[summary.pair_label(c)] += 1
        else:
            per_pair.setdefault(summary.pair_label(c), []).append((c.metrics.max_abs, c.verdict))
    logs = [math.log10(x) for vs in per_pair.values() for x, _ in vs if math.isfinite(x) and x > 0]
    lo, hi = (math.floor(min(logs)), math.floor(max(logs)) + 1) if logs else (-1, 0)
    figures = "".join(_histogram(p, vs, lo, hi) for p, vs in per_pair.items())
    key = ", ".join(f'<span class="sw" style="background:{col}"></span>{_e(g)}' for g, col in _GROUPS)
    skipped = "; ".join(f"{p}: {n}" for p, n in no_metrics.items())
    note = f" Comparisons without numbers (unsupported, errors) are not shown ({_e(skipped)})." if skipped else ""
    return (
        f'<section id="distribution"><h2>Error distribution</h2><p class="note">Largest |actual &minus; expected| '
        f"of each comparison, per pair, in half-decade bins: {key}.{note}</p>"
        f'<div class="hists">{figures or "<p>No comparison has numbers.</p>"}</div></section>'
    )


def _tolerance(c: Comparison) -> str:
    return f"rtol {c.tolerance.rtol:g}, atol {c.tolerance.atol:g} + bound" if c.tolerance else "-"


def _row(i: int, c: Comparison, linked: bool) -> str:
    m = c.metrics
    values = (m.max_abs, m.max_rel, m.max_ulp) if m else (None, None, None)
    nums = "".join(f'<td class="n" data-n="{_sort_key(x)}">{_num(x)}</td>' for x in values)
    link = f'<a href="#d-{i}">details</a>' if linked else ""
    div = f' <span class="div">{_e(c.divergence)}</span>' if c.divergence else ""
    return (
        f'<tr data-verdict="{c.verdict.value}"><td><span class="badge v-{c.verdict.value}">{c.verdict.value}</span></td>'
        f"<td>{_e(summary.pair_label(c))}</td><td class=\"id\">{_e(c.case_id)}{div}</td>{nums}"
        f"<td>{_tolerance(c)}</td><td>{link}</td></tr>"
    )


def _table(report: RunReport, linked: set[int]) -> str:
    present = [v for v in _VERDICTS if any(c.verdict.value == v for c in report.comparisons)]
    boxes = "".join(
        f'<label class="badge v-{v}"><input type="checkbox" class="vf" value="{v}" checked> {v}</label>' for v in present
    )
    rows = "".join(_row(i, c, i in linked) for i, c in enumerate(report.comparisons))
    return (
        '<section id="comparisons"><h2>All comparisons</h2><div class="filters">'
        '<input type="search" id="q" placeholder="filter: case id, pair, divergence..." size="48">'
        f'{boxes}<span id="shown">{len(report.comparisons)} comparisons</span></div>'
        '<div class="scroll"><table id="cmp"><thead><tr><th data-col="0">verdict</th><th data-col="1">pair</th>'
        '<th data-col="2">case</th><th data-col="3" data-num="1">max abs</th><th data-col="4" data-num="1">max rel</th>'
        '<th data-col="5" data-num="1">max ULP</th><th>tolerance</th><th></th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def _panel(i: int, c: Comparison, repro: str, case: Case | None, arrays: dict[str, np.ndarray] | str, open_: bool) -> str:
    got = _panel_arrays(c, arrays) if c.metrics else ""
    if not got:
        heat, worst = "", ""
    elif isinstance(got, str):
        heat, worst = f'<p class="note">No heatmap: {_e(got)}.</p>', ""
    else:
        heat, worst = _heatmap(*got)
    names = [n for n in (c.divergence or "").split(", ") if n]
    op = ops.get(case.op if case is not None else ops.DEFAULT_OP)
    explain = "".join(f"<p><b>{_e(n)}</b>: {_e(op.explanation(n))}</p>" for n in names)
    m = c.metrics
    head = f"max abs {_num(m.max_abs)}, {m.mismatched} / {m.total} elements outside tolerance" if m else "no numbers"
    call = ""
    if case is not None:
        shown = op.calls(case, (c.actual,)).get(c.actual)
        call = f'<p class="note">dtype {_e(case.dtype)}' + (f"; {_e(c.actual)} call: <code>{_e(shown)}</code>" if shown else "") + "</p>"
    tol = f'<p class="note">Tolerance: {_e(_tolerance(c))} ({_e(c.tolerance.reason)})</p>' if c.tolerance else ""
    return (
        f'<details class="panel" id="d-{i}"{" open" if open_ else ""}><summary><span class="badge v-{c.verdict.value}">'
        f"{c.verdict.value}</span> {_e(summary.pair_label(c))} &middot; <code>{_e(c.case_id)}</code> &middot; {head}</summary>"
        f'<div class="body"><p><b>{_e(c.actual)}</b> vs <b>{_e(c.expected)}</b></p>{explain}'
        f'<pre class="msg">{_e(c.message)}</pre>{tol}{call}{heat}{worst}'
        f'<p class="repro"><code>{_e(repro)}</code> <button type="button" class="copy">copy</button></p></div></details>'
    )


def _load(out_dir: Path, case_id: str) -> dict[str, np.ndarray] | str:
    path = arrays_path(out_dir, case_id)
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return f"cannot read {path.name} ({exc.__class__.__name__})"


def _panels(report: RunReport, cases: dict[str, Case], out_dir: Path, todo: list[int], budget: int) -> list[str]:
    """The detail panels of ``todo`` in order, as many as fit in ``budget`` bytes."""
    out: list[str] = []
    used = 0
    cache: dict[str, dict[str, np.ndarray] | str] = {}
    for i in todo:
        c = report.comparisons[i]
        if c.case_id not in cache:
            cache = {c.case_id: _load(out_dir, c.case_id)}  # a case's comparisons are adjacent
        repro = commands.repro(report.suite, c.case_id, report.runners, report.op)
        panel = _panel(i, c, repro, cases.get(c.case_id), cache[c.case_id], open_=not out)
        used += len(panel.encode())
        if used > budget:
            break
        out.append(panel)
    return out


def _details(panels: list[str], total: int, max_bytes: int) -> str:
    omitted = total - len(panels)
    intro = (
        f'<p class="note">{total} comparisons differ or failed (every verdict but PASS and UNSUPPORTED); '
        "unexpected ones first. The first panel is open.</p>"
        if total
        else "<p>No comparison differs.</p>"
    )
    note = (
        f'<p class="note omitted">The last {omitted} of {total} detail panels are left out to keep this page under '
        f"{max_bytes / 1e6:g} MB; parity.json and arrays/ hold every result.</p>"
        if omitted
        else ""
    )
    return f'<section id="details"><h2>Details</h2>{intro}{note}{"".join(panels)}</section>'


def render(report: RunReport, cases: Iterable[Case], out_dir: Path, max_bytes: int = MAX_BYTES) -> str:
    """The page; detail panels past ``max_bytes`` are left out (the page says how many)."""
    by_id = {c.id: c for c in cases}
    title = f"parity: {ops.get(report.op).title}, suite {report.suite}"
    fixed = [_summary(report), _distribution(report), _divergences(report)]
    detailed = [i for i, c in enumerate(report.comparisons) if c.verdict in DETAILED]
    todo = sorted(detailed, key=lambda i: not report.comparisons[i].verdict.unexpected)  # stable: run order within
    # Everything but the panels, at its largest (every row linked, the omission note at full length).
    shell = _page(title, fixed, _table(report, set(todo)), _details([], len(todo), max_bytes))
    panels = _panels(report, by_id, out_dir, todo, max_bytes - len(shell.encode()))
    return _page(title, fixed, _table(report, set(todo[: len(panels)])), _details(panels, len(todo), max_bytes))


def _page(title: str, fixed: list[str], table: str, details: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head>\n<body data-parity-ready=\"0\"><h1>{_e(title)}</h1>"
        f'<nav><a href="#summary">summary</a> <a href="#distribution">error distribution</a> '
        f'<a href="#divergences">divergences</a> <a href="#comparisons">all comparisons</a> <a href="#details">details</a></nav>\n'
        + "\n".join(fixed)
        + f"\n{table}\n{details}\n<script>{_JS}</script></body></html>\n"
    )


def write(report: RunReport, cases: list[Case], path: Path) -> None:
    path.write_text(render(report, cases, path.parent), encoding="utf-8")


_CSS = """
:root{--fg:#1f2328;--mute:#59636e;--line:#d1d9e0;--bg2:#f6f8fa}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:0 auto;max-width:1320px;padding:16px 24px}
h1{font-size:22px;margin:4px 0}h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:28px}
nav a{margin-right:12px}code,pre,.id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
thead th{background:var(--bg2)}.counts td{text-align:right;min-width:70px}.counts td.zero{color:#aab}
.row{display:flex;flex-wrap:wrap;gap:32px;align-items:flex-start}dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dt{color:var(--mute)}dd{margin:0}
.status{font-size:16px;font-weight:600;padding:6px 10px;border-radius:6px;display:inline-block}
.status.good{background:#dafbe1;color:#1a7f37}.status.bad{background:#ffebe9;color:#cf222e}
.note{color:var(--mute);font-size:13px}.badge{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.v-PASS{background:#dafbe1;color:#1a7f37}.v-EXPECTED_DIVERGENCE{background:#ddf4ff;color:#0969da}.v-UNSUPPORTED{background:#eaeef2;color:#59636e}.v-UNDECIDABLE{background:#fff8c5;color:#9a6700}
.v-MISMATCH,.v-DIVERGENCE_CHANGED,.v-ERROR{background:#ffebe9;color:#cf222e}.v-CRASH,.v-TIMEOUT{background:#fbefff;color:#8250df}
.hists{display:flex;flex-wrap:wrap;gap:18px}.hist{margin:0}.hist figcaption{font-weight:600}
.histogram .axis{stroke:#888}.histogram .tick{font-size:10px;fill:var(--mute)}
.sw{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:middle;border:1px solid #999}
.sw.zero{background:#eef0f2}.sw.nan{background:#ff2d55}
.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}.filters label{cursor:pointer}
#shown{color:var(--mute)}.scroll{max-height:440px;overflow:auto;border:1px solid var(--line)}
#cmp{width:100%}#cmp td{white-space:nowrap}#cmp td.id{white-space:normal;word-break:break-all}#cmp thead th{position:sticky;top:0;cursor:pointer;z-index:1}#cmp td.n{text-align:right;font-variant-numeric:tabular-nums}
#cmp .div{display:block;word-break:normal;color:#0969da;font-family:system-ui,sans-serif}
details.panel{border:1px solid var(--line);border-radius:6px;margin:6px 0}details.panel>summary{cursor:pointer;padding:6px 10px;background:var(--bg2)}
details.panel .body{padding:4px 12px 10px}pre.msg{white-space:pre-wrap;background:var(--bg2);padding:6px;margin:6px 0}
.heat{overflow-x:auto}canvas.heatmap{image-rendering:pixelated;border:1px solid var(--line);display:block;margin-top:6px}
.legend{font-size:12px;color:var(--mute);margin:4px 0}.legend .ramp{display:inline-block;width:140px;height:10px;margin:0 6px;vertical-align:middle;
background:linear-gradient(to right,#440154,#3b528b,#21918c,#5ec962,#fde725)}
.readout{color:var(--fg);font-family:ui-monospace,monospace}.worst td{font-family:ui-monospace,monospace;font-size:12px;text-align:right}
.repro code{background:var(--bg2);padding:3px 6px;user-select:all}
"""

_JS = r"""
(function () {
  "use strict";
  var STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t) {
    t = Math.max(0, Math.min(1, t));
    var x = t * (STOPS.length - 1), i = Math.min(Math.floor(x), STOPS.length - 2), f = x - i;
    var a = STOPS[i], b = STOPS[i + 1], c = [0, 1, 2].map(function (j) { return Math.round(a[j] + (b[j] - a[j]) * f); });
    return "rgb(" + c.join(",") + ")";
  }
  var drawn = 0;
  function draw(cv) {
    if (cv.dataset.drawn) return;
    var d = cv.dataset, k = +d.rois, n = +d.bins, pw = +d.pw, cw = +d.cw, ch = +d.ch, lo = +d.lo, hi = +d.hi;
    var v = d.v.split(","), g = cv.getContext("2d"), span = hi - lo || 1;
    for (var r = 0; r < k; r++) for (var c = 0; c < n; c++) {
      var s = v[r * n + c], x = +s;
      g.fillStyle = s === "n" ? "#ff2d55" : x === 0 ? "#eef0f2" : colour(hi === lo ? 1 : (Math.log10(x) - lo) / span);
      g.fillRect(c * cw, r * ch, cw, ch);
    }
    g.fillStyle = "rgba(255,255,255,0.8)";
    if (cw > 2) for (var b = pw; b < n; b += pw) g.fillRect(b * cw, 0, 1, k * ch);
    var out = cv.parentNode.querySelector(".readout");
    cv.addEventListener("mousemove", function (ev) {
      var rect = cv.getBoundingClientRect();
      var col = Math.floor((ev.clientX - rect.left) * cv.width / rect.width / cw);
      var row = Math.floor((ev.clientY - rect.top) * cv.height / rect.height / ch);
      if (row < 0 || row >= k || col < 0 || col >= n) return;
      var s = v[row * n + col];
      out.textContent = "roi " + row + ", bin (" + Math.floor(col / pw) + ", " + (col % pw) + "): max |diff| = " +
        (s === "n" ? "NaN/Inf where the other side has a number" : s);
    });
    d.drawn = "1";
    drawn++;
    document.body.dataset.heatmapsDrawn = String(drawn);
  }
  function openPanel(id) {
    var el = document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.querySelectorAll("canvas.heatmap").forEach(draw); }
  }
  document.querySelectorAll("details.panel").forEach(function (p) {
    p.addEventListener("toggle", function () { if (p.open) p.querySelectorAll("canvas.heatmap").forEach(draw); });
  });
  document.querySelectorAll("details.panel[open] canvas.heatmap").forEach(draw);

  var table = document.getElementById("cmp"), body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows), texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var q = document.getElementById("q"), shown = document.getElementById("shown");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.vf"));
  function apply() {
    var on = {}, needle = q.value.trim().toLowerCase(), count = 0;
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    rows.forEach(function (r, i) {
      var ok = on[r.dataset.verdict] !== false && (!needle || texts[i].indexOf(needle) >= 0);
      r.hidden = !ok;
      if (ok) count++;
    });
    shown.textContent = count + " of " + rows.length + " comparisons shown";
  }
  q.addEventListener("input", apply);
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  table.tHead.addEventListener("click", function (ev) {
    var th = ev.target.closest("th[data-col]");
    if (!th) return;
    var col = +th.dataset.col, num = !!th.dataset.num, dir = th.dataset.dir === "asc" ? -1 : 1;
    th.dataset.dir = dir === 1 ? "asc" : "desc";
    var keyed = rows.map(function (r, i) {
      var cell = r.cells[col], k = num ? parseFloat(cell.dataset.n) : cell.textContent;
      if (num && isNaN(k)) k = cell.dataset.n === "" ? -Infinity : Infinity;
      return [k, i, r];
    });
    keyed.sort(function (a, b) { return a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1] - b[1]; });
    keyed.forEach(function (e) { body.appendChild(e[2]); });
  });
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[href^='#d-']");
    if (a) openPanel(a.getAttribute("href").slice(1));
    var btn = ev.target.closest("button.copy");
    if (!btn) return;
    var code = btn.parentNode.querySelector("code"), text = code.textContent;
    function done(ok) { btn.textContent = ok ? "copied" : "select and copy"; setTimeout(function () { btn.textContent = "copy"; }, 1500); }
    function fallback() {
      var range = document.createRange(), sel = window.getSelection();
      range.selectNodeContents(code); sel.removeAllRanges(); sel.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    else fallback();
  });
  if (location.hash.indexOf("#d-") === 0) openPanel(location.hash.slice(1));
  apply();
  document.body.dataset.parityReady = "1";
})();
"""
