"""parity.html in a real headless Chromium: the script runs without errors and draws the heatmaps.

Chromium is a system package (Debian: ``chromium``); .ci/run installs it.  Without it this test
fails, so that CI cannot pass without the check; set PARITY_SKIP_BROWSER=1 to skip it on a
machine that has no Chromium.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from parity.reporters import write_all
from tests.test_reports import synthetic

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("PARITY_SKIP_BROWSER"):
            pytest.skip("PARITY_SKIP_BROWSER is set and chromium is not installed")
        pytest.fail("chromium is not installed (apt-get install chromium); set PARITY_SKIP_BROWSER=1 to skip this test")
    return path


def browse(chromium: str, page: Path, tmp: Path, *action: str) -> tuple[str, list[str]]:
    """Open ``page`` headless; returns stdout and the page's console messages (uncaught errors included)."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    r = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *action, page.as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout, [line for line in r.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    report, _ = synthetic(out)
    write_all(report, [], out)
    return out / "parity.html"


def test_console_errors_are_caught(chromium, tmp_path):
    """The check below would see a broken page."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>")
    _, console = browse(chromium, page, tmp_path, "--dump-dom")
    assert any("Uncaught ReferenceError" in line for line in console)


def test_report_runs_its_script_and_draws_heatmaps(chromium, report_page, tmp_path):
    dom, console = browse(chromium, report_page, tmp_path, "--dump-dom")
    assert console == []
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-parity-ready="1"' in body
    assert 'data-heatmaps-drawn="1"' in body  # the open panel's heatmap
    assert re.search(r'<canvas class="heatmap"[^>]*data-drawn="1"', dom)
    assert '<section id="summary">' in dom and "3 unexpected results" in dom
    assert dom.count("<tr data-verdict=") == 6 and "6 of 6 comparisons shown" in dom
    assert dom.count('<svg class="histogram"') == 3


def test_screenshot(chromium, report_page, tmp_path):
    shot = tmp_path / "report.png"
    _, console = browse(chromium, report_page, tmp_path, f"--screenshot={shot}", "--window-size=1400,2000")
    assert console == []
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000


EXERCISE = """<script>
(function () {
  var b = document.body.dataset, q = document.getElementById("q");
  q.value = "synthetic-two"; q.dispatchEvent(new Event("input"));
  b.afterText = document.getElementById("shown").textContent;
  q.value = ""; q.dispatchEvent(new Event("input"));
  var pass = document.querySelector("input.vf[value=PASS]");
  pass.checked = false; pass.dispatchEvent(new Event("change"));
  b.afterVerdict = document.getElementById("shown").textContent;
  document.querySelector("#cmp th[data-col='3']").click();  // max abs, ascending
  b.firstByMaxAbs = document.querySelector("#cmp tbody tr").cells[3].textContent;
  var link = document.querySelector("#cmp a[href='#d-2']");  // the declared divergence's panel
  link.click();
  b.linkOpened = String(document.getElementById(link.getAttribute("href").slice(1)).open);
})();
</script></body>"""


def test_filter_sort_and_links_work(chromium, report_page, tmp_path):
    page = tmp_path / "exercised.html"
    page.write_text(report_page.read_text().replace("</body>", EXERCISE))
    dom, console = browse(chromium, page, tmp_path, "--dump-dom")
    assert console == []
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-after-text="3 of 6 comparisons shown"' in body
    assert 'data-after-verdict="5 of 6 comparisons shown"' in body
    assert 'data-first-by-max-abs="-"' in body  # no numbers sort first, ascending
    assert 'data-link-opened="true"' in body and 'data-heatmaps-drawn="2"' in body
