"""``parity.html``: one self-contained page (inline CSS, JS and SVG; nothing fetched) for people to read.

Summary, error distribution, divergences, a filterable table of every comparison, and a detail
panel (heatmap of |diff| over the output bins, worst elements, explanation, repro command) for
each comparison that differs.  Numbers come from the run's ``arrays/``; no verdict is computed here.
The charts are drawn in parity.reporters.html_charts; the style sheet and the script are the files
``assets/report.css`` and ``assets/report.js``, inlined into the page.
"""
from __future__ import annotations

import functools
import math
import zipfile
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Iterable

import numpy as np

from parity.engine import commands, summary, text
from parity import ops
from parity.engine.model import Case, Comparison, Verdict
from parity.engine.session import RunReport, arrays_path
from parity.reporters.html_charts import GROUPS, heatmap, histogram, number, panel_arrays, sort_key

#: The page stays under this size: detail panels past it are left out (and counted).
MAX_BYTES = 10_000_000
#: Verdicts that get a detail panel (those with numbers get a heatmap); unexpected ones are shown first.
DETAILED = (
    Verdict.MISMATCH, Verdict.DIVERGENCE_CHANGED, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT, Verdict.EXPECTED_DIVERGENCE,
    Verdict.UNDECIDABLE,
)
_VERDICTS = [v.value for v in Verdict]


def _e(x: object) -> str:
    return text.html(x)


@functools.cache
def _asset(name: str) -> str:
    """The page's style sheet or script, ``assets/NAME``: package data (pyproject.toml), so an
    installed wheel holds it too; inlined into every page, which fetches nothing."""
    return resources.files(__package__).joinpath("assets").joinpath(name).read_bytes().decode("utf-8")


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
            f"{number(s.max_abs)} (e.g. <code>{_e(s.example)}</code>)<p>{_e(s.divergence.explanation)}</p>"
            + "".join(f'<p class="note">Came back: <code>{_e(h)}</code></p>' for h in s.held)
            + f'<p class="note">Evidence: {_e(s.divergence.evidence)}</p></li>'
        )
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>None.</p>"
    return f'<section id="divergences"><h2>Divergences observed</h2>{body}</section>'



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
    figures = "".join(histogram(p, vs, lo, hi) for p, vs in per_pair.items())
    key = ", ".join(f'<span class="sw" style="background:{col}"></span>{_e(g)}' for g, col in GROUPS)
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
    nums = "".join(f'<td class="n" data-n="{sort_key(x)}">{number(x)}</td>' for x in values)
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
    got = panel_arrays(c, arrays) if c.metrics else ""
    if not got:
        heat, worst = "", ""
    elif isinstance(got, str):
        heat, worst = f'<p class="note">No heatmap: {_e(got)}.</p>', ""
    else:
        heat, worst = heatmap(*got)
    names = [n for n in (c.divergence or "").split(", ") if n]
    op = ops.get(case.op if case is not None else ops.DEFAULT_OP)
    explain = "".join(f"<p><b>{_e(n)}</b>: {_e(op.explanation(n))}</p>" for n in names)
    m = c.metrics
    head = f"max abs {number(m.max_abs)}, {m.mismatched} / {m.total} elements outside tolerance" if m else "no numbers"
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
    """The whole document: the parts between the inlined style sheet and script."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>\n{_asset('report.css')}</style></head>\n<body data-parity-ready=\"0\"><h1>{_e(title)}</h1>"
        f'<nav><a href="#summary">summary</a> <a href="#distribution">error distribution</a> '
        f'<a href="#divergences">divergences</a> <a href="#comparisons">all comparisons</a> <a href="#details">details</a></nav>\n'
        + "\n".join(fixed)
        + f"\n{table}\n{details}\n<script>\n{_asset('report.js')}</script></body></html>\n"
    )


def write(report: RunReport, cases: list[Case], path: Path) -> None:
    path.write_text(render(report, cases, path.parent), encoding="utf-8")
