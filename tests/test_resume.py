"""Nothing computed is lost: a run killed half-way resumes to the same report."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import ROOT, parity

VOLATILE = ("wall_seconds", "startup_seconds", "cases_per_second")


def _start(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "parity.shells.cli", "run", "-k", "f32", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"},
    )


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("the run produced no results")


def _doc(out: Path) -> dict:
    doc = json.loads((out / "parity.json").read_text())
    return {k: v for k, v in doc.items() if k not in VOLATILE}


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_report(tmp_path):
    killed = tmp_path / "killed"
    proc = _start(killed)
    _wait_for_lines(killed / "results.jsonl", 40, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len((killed / "results.jsonl").read_text().splitlines())
    total = len(parity("cases", "-k", "f32").stdout.split())
    assert 40 <= before < total

    resumed = parity("run", "--resume", str(killed))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {before} cases reused" in resumed.stdout
    lines = (killed / "results.jsonl").read_text().splitlines()
    assert len(lines) == total  # every case exactly once: none recomputed, none lost

    fresh = tmp_path / "fresh"
    assert parity("run", "-k", "f32", "--out", str(fresh)).returncode == 0
    assert _doc(killed) == _doc(fresh)


def test_ctrl_c_says_where_the_partial_results_are(tmp_path):
    proc = _start(tmp_path)
    _wait_for_lines(tmp_path / "results.jsonl", 5, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"continue with: parity run --resume {tmp_path}" in err


def test_resume_of_a_folder_without_a_run_is_a_usage_error(tmp_path):
    r = parity("run", "--resume", str(tmp_path))
    assert r.returncode == 2 and "holds no parity run" in r.stderr and "Traceback" not in r.stderr


def test_python_option_runs_a_worker_under_the_given_interpreter(tmp_path):
    r = parity("run", "--suite", "seed", "--out", str(tmp_path), "--python", f"torchvision={sys.executable}")
    assert r.returncode == 0, r.stderr
    r = parity("run", "--suite", "seed", "--out", str(tmp_path), "--python", "torchvision=/no/such/python")
    assert r.returncode == 2 and "does not exist" in r.stderr
