"""The file reports: parity.html (self-contained), parity.xml (JUnit), parity.md (job summary)."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from parity.engine import compare, summary
from parity.ops.roi_align import divergences as divergence_model
from parity.engine.model import Comparison, Metrics, Tolerance, Verdict
from parity.reporters import html, html_charts, markdown, write_all
from parity.engine.session import RunReport, arrays_path
from tests.test_cli import parity

ODD_ID = 'roi_align[aligned=1,sr=2,out=2x3,s=1]-f32-synthetic-<b>&"x'
TWO_ID = "roi_align[aligned=0,sr=-1,out=2x3,s=1]-f64-synthetic-two"
TOL = Tolerance(1.3e-6, 1e-5, "synthetic")
ALIGNED = "aligned-vs-roi-end-mode-1"


def _cmp(case_id: str, actual: str, expected: str, verdict: Verdict, a=None, e=None, message="", divergence=None, metrics=None):
    if a is not None:
        metrics = compare.metrics(a, e, TOL, "float32")
        message = message or compare.describe(metrics, TOL)
    return Comparison(case_id, actual, expected, verdict, TOL if metrics else None, metrics, message, divergence)


def synthetic(out_dir: Path) -> tuple[RunReport, dict[str, np.ndarray]]:
    """Two cases covering every kind of panel: NaN and Inf, a declared divergence, no arrays at all."""
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 2, 2, 3))
    tv = ref + 1e-7
    ms = ref.copy()
    ms[1] += 0.5  # one roi off
    ms[2, 0, 0, 0] = np.nan
    ms[0, 1, 1, 2] = np.inf
    arrays = {"torchvision": tv, "mindspore": ms, "reference.torchvision": ref, "reference.mindspore": ref}
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays_path(out_dir, ODD_ID).parent.mkdir(exist_ok=True)
    np.savez(arrays_path(out_dir, ODD_ID), **arrays)
    weird = Metrics(12, 12, float("nan"), None, float("inf"), float("-inf"), 0)
    report = RunReport("standard", ("torchvision", "mindspore", "reference"), {"torch": "2.14.1", "mindspore": "2.10.0"}, "x86_64 Linux")
    report.comparisons = [
        _cmp(ODD_ID, "torchvision", "reference[torchvision aligned=True]", Verdict.PASS, tv, ref),
        _cmp(ODD_ID, "mindspore", "reference[mindspore roi_end_mode=1]", Verdict.MISMATCH, ms, ref),
        _cmp(ODD_ID, "mindspore", "torchvision", Verdict.EXPECTED_DIVERGENCE, ms, tv, divergence=ALIGNED),
        _cmp(TWO_ID, "torchvision", "reference[torchvision aligned=False]", Verdict.ERROR, message="RuntimeError: <boom>"),
        _cmp(TWO_ID, "mindspore", "reference", Verdict.UNSUPPORTED, message="float64 is not supported"),
        _cmp(TWO_ID, "mindspore", "torchvision", Verdict.DIVERGENCE_CHANGED, message="changed", divergence=ALIGNED, metrics=weird),
    ]
    report.statuses = {ODD_ID: {"torchvision": "ok"}, TWO_ID: {"torchvision": "error"}}
    report.cases, report.wall_seconds, report.startup_seconds = 2, 1.5, 0.5
    return report, arrays


@pytest.fixture
def written(tmp_path, monkeypatch) -> tuple[RunReport, dict[str, np.ndarray], Path]:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    report, arrays = synthetic(tmp_path)
    paths = write_all(report, [], tmp_path)
    assert {Path(p).name for p in paths} == {"parity.md", "parity.json", "parity.html", "parity.xml", "parity-summary.md"}
    return report, arrays, tmp_path


def _panel(page: str, verdict: str) -> str:
    start = page.index(f'<span class="badge v-{verdict}">', page.index('<section id="details">'))
    return page[start : page.index("</details>", start)]


def _cells(panel: str) -> list[str]:
    return re.search(r'data-v="([^"]*)"', panel).group(1).split(",")


def test_html_is_self_contained(written):
    page = (written[2] / "parity.html").read_text()
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(//|[a-z]+:)""", page, re.I)  # only #anchors
    for fetching in ("<link", "<script src", "<img", "<iframe", "@import", "url("):
        assert fetching not in page
    assert page.count("<script>") == 1 and page.count("<style>") == 1


def test_html_shows_summary_table_and_panels(written):
    report, _, out = written
    page = (out / "parity.html").read_text()
    assert 'id="summary"' in page and "3 unexpected results" in page
    for pair, counts in summary.verdict_counts(report).items():
        assert f"<th>{pair}</th>" in page
        for verdict, n in counts.items():
            assert f'<td class="v-{verdict}">{n}</td>' in page
    assert "torch 2.14.1" in page and "x86_64 Linux" in page and "1.3 cases/s" in page
    assert page.count('<tr data-verdict="') == len(report.comparisons)
    assert page.count('<svg class="histogram"') == 3  # one per pair
    assert "<title>NaN/inf: 1 unexpected</title>" in page  # the NaN max abs, in its own column
    # a panel for every verdict but PASS and UNSUPPORTED, unexpected ones first
    panels = re.findall(r'<details class="panel" id="d-(\d+)"', page)
    assert panels == ["1", "3", "5", "2"]
    assert "RuntimeError: &lt;boom&gt;" in _panel(page, "ERROR")
    divergence = _panel(page, "EXPECTED_DIVERGENCE")
    assert 'class="heatmap"' in divergence
    explanation = next(d.explanation for d in divergence_model.DIVERGENCES if d.name == ALIGNED)
    assert html._e(explanation) in divergence
    assert "parity run --suite standard --runners torchvision,mindspore -k" in divergence
    changed = _panel(page, "DIVERGENCE_CHANGED")
    assert "No heatmap" in changed and "NaN" in changed  # no arrays stored; NaN max abs as text
    [row] = re.findall(r'<tr data-verdict="DIVERGENCE_CHANGED">.*?</tr>', page)
    assert all(f">{x}</td>" in row for x in ("NaN", "inf", "-inf"))  # non-finite metrics render as text


def test_html_escapes_all_text(written):
    page = (written[2] / "parity.html").read_text()
    assert '<b>&"x' not in page and "<boom>" not in page
    assert "&lt;b&gt;&amp;&quot;x" in page and "&lt;boom&gt;" in page


def test_heatmap_is_max_over_channels_with_nan_marked(written):
    _, arrays, out = written
    panel = _panel((out / "parity.html").read_text(), "MISMATCH")
    a, e = arrays["mindspore"], arrays["reference.mindspore"]
    special = np.isnan(a) | np.isinf(a)
    want_flag = special.any(axis=1).reshape(3, 6).ravel()
    want = np.where(special, 0, np.abs(np.where(special, 0, a - e))).max(axis=1).reshape(3, 6).ravel()
    cells = _cells(panel)
    assert len(cells) == 18
    assert [c == "n" for c in cells] == want_flag.tolist()
    got = np.array([0.0 if c == "n" else float(c) for c in cells])
    np.testing.assert_allclose(got[~want_flag], want[~want_flag], rtol=5e-3)
    assert 'data-rois="3" data-bins="6" data-pw="3"' in panel
    worst = re.findall(r"<tr><td>\((\d+), (\d+), (\d+), (\d+)\)</td><td>([^<]*)</td>", panel)
    assert len(worst) == 5
    assert worst[0][:4] == ("0", "1", "1", "2") and worst[0][4] == "inf"  # NaN/Inf disagreements first
    assert ("2", "0", "0", "0", "NaN") in worst
    assert all(r[0] == "1" for r in worst[2:])  # then the roi that is off by 0.5


def test_detail_panels_are_limited_by_size(written, tmp_path):
    report, _, out = written
    full = html.render(report, [], out)
    limited = html.render(report, [], out, max_bytes=len(full.encode()) - 1)
    assert len(limited.encode()) < len(full.encode())
    assert len(limited.encode()) <= len(full.encode()) - 1
    assert re.search(r"The last \d of 4 detail panels are left out", limited)
    assert limited.count('<details class="panel"') < 4
    assert limited.count('href="#d-') == limited.count('<details class="panel"')


def test_junit_counts_match(written):
    report, _, out = written
    root = ET.parse(out / "parity.xml").getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) == len(report.comparisons)
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == 3
    assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped")) == 2
    assert float(suite.get("time")) == 1.5
    assert [(c.get("classname"), c.get("name")) for c in cases] == [(summary.pair_label(c), c.case_id) for c in report.comparisons]
    failure = cases[1].find("failure")
    assert failure.get("type") == "MISMATCH" and failure.get("message").startswith("MISMATCH: Mismatched elements")
    assert "repro: parity run --suite standard --runners torchvision,mindspore -k" in failure.text
    assert cases[4].find("skipped").get("message") == "UNSUPPORTED: float64 is not supported"
    assert ALIGNED in cases[2].find("skipped").get("message")


def test_markdown_puts_the_summary_first(written):
    md = (written[2] / "parity.md").read_text()
    order = [md.index(s) for s in ("| pair |", "## Unexpected results (3)", "<details><summary>Divergences", "<details><summary>All comparisons")]
    assert order == sorted(order)
    assert "- **MISMATCH**" in md and f"`{ODD_ID}`" in md


def test_markdown_is_cut_to_a_size_limit(written):
    report, _, _ = written
    full = markdown.render(report, [])
    cut = markdown.render(report, [], limit=len(full.encode()) - 1)
    assert len(cut.encode()) <= len(full.encode()) - 1
    assert re.search(r"\| \.\.\. \d+ more rows in parity.md", cut) and cut.rstrip().endswith("</details>")


def test_github_step_summary_is_appended(tmp_path, monkeypatch):
    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    report, _ = synthetic(tmp_path / "out")
    write_all(report, [], tmp_path / "out")
    write_all(report, [], tmp_path / "out")
    text = step.read_text()
    assert text.startswith("earlier step\n")
    assert text.count("# parity report: RoIAlign") == 2 and "## Unexpected results (3)" in text


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A real run of two cases where MindSpore's adaptive sampling gives NaN (a declared divergence)."""
    out = tmp_path_factory.mktemp("run")
    step = out / "step.md"
    r = parity("run", "-k", "sr=-1,out=3x3,s=0.25]", "--out", str(out), env={"GITHUB_STEP_SUMMARY": str(step)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "parity.html" in r.stdout and "parity.xml" in r.stdout
    return out


def test_real_run_writes_every_report(real_run):
    doc = json.loads((real_run / "parity.json").read_text())
    page = (real_run / "parity.html").read_text()
    assert len(page.encode()) < html.MAX_BYTES and "http" not in page
    comparisons = [c for case in doc["cases"] for c in case["comparisons"]]
    assert page.count('<tr data-verdict="') == len(comparisons)
    for case in doc["cases"]:
        assert html._e(case["id"]) in page
    divergent = [c for c in comparisons if c["verdict"] == "EXPECTED_DIVERGENCE"]
    assert divergent and page.count('<canvas class="heatmap"') == len(divergent)
    assert any("n" in _cells(p) for p in page.split('<details class="panel"')[1:])  # MindSpore's NaN bins
    suite = ET.parse(real_run / "parity.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) == len(comparisons)
    assert int(suite.get("failures")) == doc["unexpected"] == 0
    assert int(suite.get("skipped")) == sum(c["verdict"] in ("EXPECTED_DIVERGENCE", "UNSUPPORTED") for c in comparisons)
    assert (real_run / "step.md").read_text() == (real_run / "parity-summary.md").read_text() + "\n"  # the summary, not the whole report


def test_heatmap_of_many_rois_is_cut(tmp_path):
    a = np.zeros((html_charts.MAX_ROIS + 5, 1, 1, 2))
    heat, worst = html_charts.heatmap(a + 1.0, a)
    assert f"the first {html_charts.MAX_ROIS} of {html_charts.MAX_ROIS + 5}" in heat
    assert len(_cells(heat)) == html_charts.MAX_ROIS * 2 and worst.count("<tr><td>") == 5
