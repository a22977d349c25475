"""What people expect of a CLI: --version, -h, --format json, [tool.parity] defaults, the short summary, CI summaries."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from parity.engine.model import Comparison, Verdict
from parity.reporters import brief, write_all
from parity.engine.session import RunReport
from tests.test_cli import parity
from tests.test_gate import baseline, stored_run  # noqa: F401 - the gate's fixture

ROOT = Path(__file__).resolve().parent.parent


def in_folder(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """parity run from ``folder`` (where its pyproject.toml is read), this checkout's parity on the path."""
    return subprocess.run(
        [sys.executable, "-m", "parity.shells.cli", *args], capture_output=True, text=True, cwd=folder, timeout=600,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_version_and_short_help_on_every_command():
    from importlib.metadata import version

    r = parity("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"parity {version('parity')}"
    for args in ([], ["run"], ["gate"], ["cases"], ["baseline", "update"], ["repro"], ["repro", "--op", "nms"],
                 ["mutants", "--op", "box_iou"], ["bench", "--op", "box_iou"], ["mapping", "--op", "nms"]):  # an op's own commands too
        short, long = parity(*args, "-h"), parity(*args, "--help")
        assert short.returncode == long.returncode == 0 and short.stdout == long.stdout and "Usage:" in short.stdout


def test_cases_as_json_give_each_case_s_call():
    r = parity("cases", "--suite", "seed", "--format", "json")
    assert r.returncode == 0, r.stderr
    [case] = json.loads(r.stdout)
    # The migration note's example: roi_align(output_size=3, spatial_scale=0.25, sampling_ratio=2).
    assert case["attrs"] == {"output_size": [3, 3], "spatial_scale": 0.25, "sampling_ratio": 2, "aligned": False}
    assert case["shapes"] == {"features": [1, 1, 2, 2], "rois": [1, 5]}


def _report(n_bad: int, message: str = "x" * 400) -> RunReport:
    report = RunReport("standard", ("torchvision", "mindspore", "reference"), {"torch": "2.14.1"}, "machine")
    for i in range(n_bad + 3):
        verdict = Verdict.MISMATCH if i < n_bad else Verdict.EXPECTED_DIVERGENCE if i == n_bad else Verdict.PASS
        report.comparisons.append(Comparison(f"case-{i:05d}", "mindspore", "torchvision", verdict, None, None, message))
        report.comparisons.append(Comparison(f"case-{i:05d}", "torchvision", "reference", Verdict.PASS, None, None, ""))
    report.cases = n_bad + 3
    return report


def test_headline_separates_nothing_unexpected_from_the_frameworks_agreeing():
    assert brief.headline(_report(0)) == "Nothing unexpected. MindSpore differs from torchvision on 1 of 3 cases."
    assert brief.headline(_report(2)) == "2 unexpected results. MindSpore differs from torchvision on 3 of 5 cases."
    agree = _report(0)
    agree.comparisons = [c for c in agree.comparisons if c.verdict is Verdict.PASS]
    assert brief.headline(agree).endswith("MindSpore agrees with torchvision on all 2 cases.")
    crashed = _report(0)
    crashed.comparisons = [dataclasses.replace(c, verdict=Verdict.CRASH) if c.expected == "torchvision" else c for c in crashed.comparisons]
    line = brief.headline(crashed)
    assert "agrees" not in line and "not decided on 3 cases" in line


def test_summary_of_a_big_run_fits_a_github_comment(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    report = _report(5000)
    paths = write_all(report, [], tmp_path)
    text = (tmp_path / "parity-summary.md").read_text()
    assert str(tmp_path / "parity-summary.md") in paths
    assert len(text) < 65_536 < len((tmp_path / "parity.md").read_text())
    assert "**5000 unexpected results." in text and "## Unexpected results (5000)" in text
    shown = text.count("- **MISMATCH**")
    assert 10 < shown < 5000 and f"... and {5000 - shown} more" in text


def test_summary_escapes_stranger_text():
    from markdown_it import MarkdownIt

    report = _report(1, message="<img src=x onerror=alert(1)> | [link](http://x)")
    report.comparisons[0] = Comparison("<script>|`id`", "mindspore", "torchvision", Verdict.MISMATCH, None, None, "<b>|x")
    tokens = [t for block in MarkdownIt("commonmark").enable("table").parse(brief.render(report)) for t in [block, *(block.children or [])]]
    assert not [t for t in tokens if t.type in ("html_inline", "html_block", "link_open", "image")]


def test_run_json_and_step_summary_and_reuse_warning(tmp_path):
    step = tmp_path / "step.md"
    out = tmp_path / "out"
    r = parity("run", "--suite", "seed", "--out", str(out), "--format", "json", env={"GITHUB_STEP_SUMMARY": str(step)})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # stdout holds the JSON document and nothing else
    assert doc["exit_status"] == 0 and doc["cases"] == 1 and doc["summary"]["mindspore vs torchvision"] == {"PASS": 1}
    assert doc["headline"] in step.read_text() and "warning" not in r.stderr
    again = parity("run", "--suite", "seed", "--out", str(out), "--runners", "torchvision")
    assert again.returncode == 0
    assert "warning" in again.stderr and "1 finished cases of suite 'seed'" in again.stderr
    assert f"parity run --resume {out}" in again.stderr


def test_gate_as_json_and_in_the_step_summary(tmp_path, baseline):  # noqa: F811
    stored_run(tmp_path / "run", changes={0: ("PASS", "PASS", "MISMATCH")})
    step = tmp_path / "step.md"
    step.write_text("earlier\n")
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "run"), "--format", "json", env={"GITHUB_STEP_SUMMARY": str(step)})
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["passed"] is False and [c["after"] for c in doc["regressions"]] == ["MISMATCH"]
    summary = step.read_text()
    assert summary.startswith("earlier\n") and "## parity gate FAILED" in summary and "**REGRESSION** MISMATCH" in summary


def _pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[project]\nname = 'someone-else'\n\n[tool.parity]\n" + body)
    return folder


def test_tool_parity_defaults_apply_and_the_command_line_wins(tmp_path):
    here = _pyproject(tmp_path / "p", 'suite = "no-such-suite"\ntimeout = 5\n')
    r = in_folder(here, "run")
    assert r.returncode == 2 and "unknown suite 'no-such-suite'" in r.stderr
    r = in_folder(here, "run", "--suite", "also-missing")
    assert r.returncode == 2 and "unknown suite 'also-missing'" in r.stderr
    bad = _pyproject(tmp_path / "q", "timeout = true\n")
    r = in_folder(bad, "run")
    assert r.returncode == 2 and "[tool.parity] timeout must be" in r.stderr and "Traceback" not in r.stderr
    unknown = _pyproject(tmp_path / "u", "sweet = 1\n")
    r = in_folder(unknown, "run")
    assert r.returncode == 2 and "key 'sweet'" in r.stderr
    for other in (("cases", "--suite", "seed"), ("--version",)):  # [tool.parity] holds run's defaults only
        r = in_folder(unknown, *other)
        assert r.returncode == 0, r.stderr


def test_tool_parity_defaults_reach_the_run_and_resume_keeps_them(tmp_path):
    here = _pyproject(tmp_path, 'suite = "seed"\nrunners = ["torchvision"]\nout = "results"\ngrad = true\n')
    r = in_folder(here, "run")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "results" / "run.json").read_text())
    assert (meta["suite"], meta["runners"], meta["grad"]) == ("seed", ["torchvision", "reference"], True)
    # Defaults are not a request: resuming under the same pyproject.toml does not conflict with the stored run.
    r = in_folder(here, "run", "--resume", "results")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("value", ['"x"', "1", "[1]"])
def test_tool_parity_wrong_types_are_usage_errors(tmp_path, value):
    key = "grad" if value == '"x"' else "suite" if value == "1" else "runners"
    here = _pyproject(tmp_path, f"{key} = {value}\n")
    r = in_folder(here, "run")
    assert r.returncode == 2 and f"[tool.parity] {key}" in r.stderr and len(r.stderr.strip().splitlines()) == 1
