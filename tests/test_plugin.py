"""The pytest plugin (``pytest --parity``), run in subprocesses so that it loads as users load it.

Most tests replace parity.engine.session.run with a fake that writes chosen verdicts (a conftest in a
scratch folder), so every verdict's outcome, ``-x`` and xdist are checked in seconds; the
``seed`` suite then runs for real, serially and with ``-n 2``.
"""
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from parity.shells.pytest_plugin import expected_pairs, pair_slug

SEED = "roi_align[aligned=0,sr=2,out=3x3,s=0.25]-f32-seed-note"

# Verdicts for the cases of ``--parity-suite standard --parity-k f32-inside`` in suite order
# (any case past the list passes).  A string is one comparison that stands for the whole case,
# as when the reference refuses a case.
FAKE_CONFTEST = '''
import json
from parity.engine import results, session
from parity.engine.model import Comparison, Verdict

PLAN = [
    {},
    {"mindspore vs reference": ("MISMATCH", None, "Mismatched elements: 3 / 49")},
    {"mindspore vs torchvision": ("EXPECTED_DIVERGENCE", "aligned-vs-roi-end-mode-1", "declared (...)")},
    {"mindspore vs reference": ("UNSUPPORTED", None, "MindSpore ROIAlign takes float16/float32 only"),
     "mindspore vs torchvision": ("UNSUPPORTED", None, "mindspore has no output")},
    "ERROR",
    "UNSUPPORTED",
    {"torchvision vs reference": ("CRASH", None, "worker died: SIGSEGV")},
]


def fake_run(cases, meta, out_dir, **kwargs):
    pairs = [("torchvision", "reference[x]"), ("mindspore", "reference[y]"), ("mindspore", "torchvision")]
    report = session.RunReport(meta.suite, meta.runners, {}, "")
    with open(out_dir / "results.jsonl", "a") as log:
        for case in cases:
            index = [c.id for c in cases].index(case.id)
            plan = PLAN[index] if index < len(PLAN) else {}
            if isinstance(plan, str):
                comps = [Comparison(case.id, "reference", "(documented semantics)", Verdict(plan), None, None,
                                    "roi 0 has batch index 9.0, outside the batch")]
            else:
                comps = []
                for actual, expected in pairs:
                    label = actual + " vs " + expected.split("[")[0]
                    verdict, divergence, message = plan.get(label, ("PASS", None, "ok"))
                    comps.append(Comparison(case.id, actual, expected, Verdict(verdict), None, None, message, divergence))
            results.append(log, results.CaseRecord(case.id, {}, tuple(comps)))
    return report


session.run = fake_run
'''


def pytest_run(folder: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``pytest ARGS`` in ``folder`` (nothing of this repository's tests is collected there)."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml", str(folder / "junit.xml"), *args]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def outcomes(folder: Path) -> dict[str, str]:
    """Test name -> passed / failed / skipped / xfailed / xpassed, from the JUnit XML report."""
    found = {}
    for case in ET.parse(folder / "junit.xml").getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        kind = kinds[0] if kinds else "passed"
        if kind == "skipped" and case.find("skipped").get("type") == "pytest.xfail":
            kind = "xfailed"
        found[case.get("name")] = {"failure": "failed", "error": "failed"}.get(kind, kind)
    return found


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    (tmp_path / "conftest.py").write_text(FAKE_CONFTEST)
    return tmp_path


def test_item_ids_are_known_before_running():
    assert expected_pairs(("torchvision", "mindspore", "reference")) == [
        "torchvision vs reference", "mindspore vs reference", "mindspore vs torchvision"
    ]
    assert expected_pairs(("mindspore", "reference")) == ["mindspore vs reference"]
    assert pair_slug("mindspore vs torchvision") == "mindspore-vs-torchvision"


def test_loading_the_plugin_imports_no_framework(tmp_path):
    (tmp_path / "test_light.py").write_text(
        "import sys\n"
        "def test_light():\n"
        "    assert 'parity.shells.pytest_plugin' in sys.modules  # loaded through the pytest11 entry point\n"
        "    heavy = [m for m in ('numpy', 'torch', 'torchvision', 'mindspore', 'parity.engine.session', 'parity.ops.roi_align.generate')"
        " if m in sys.modules]\n"
        "    assert not heavy, heavy\n"
    )
    r = pytest_run(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "--parity-suite" in pytest_run(tmp_path, "--help").stdout


def test_each_verdict_becomes_its_outcome(fake):
    r = pytest_run(fake, "--parity", "--parity-k", "f32-inside", "-rA")
    assert r.returncode == 1, r.stdout + r.stderr
    got = outcomes(fake)
    assert len(got) == 11 * 3
    ids = [line.split("[", 1)[1] for line in got if line.startswith("torchvision-vs-reference[")]
    c = [i[:-1] for i in ids]  # case ids in suite order
    assert got[f"torchvision-vs-reference[{c[0]}]"] == "passed"
    assert got[f"mindspore-vs-reference[{c[1]}]"] == "failed"
    assert got[f"mindspore-vs-torchvision[{c[2]}]"] == "xfailed"
    assert got[f"mindspore-vs-reference[{c[3]}]"] == "skipped"
    # the reference refused the case: one comparison answers for every item of the case
    assert {got[f"{p}[{c[4]}]"] for p in ("torchvision-vs-reference", "mindspore-vs-reference", "mindspore-vs-torchvision")} == {"failed"}
    assert {got[f"{p}[{c[5]}]"] for p in ("torchvision-vs-reference", "mindspore-vs-torchvision")} == {"skipped"}
    assert got[f"torchvision-vs-reference[{c[6]}]"] == "failed"
    assert list(got.values()).count("failed") == 1 + 3 + 1
    out = r.stdout
    assert "MISMATCH: Mismatched elements: 3 / 49" in out and f"repro: parity run --suite standard --runners torchvision,mindspore -k {shlex.quote(c[1])}" in out
    assert "declared divergence aligned-vs-roi-end-mode-1" in out  # the xfail reason
    assert "the reference could not evaluate this case: roi 0 has batch index" in out
    assert "CRASH: worker died: SIGSEGV" in out
    assert "Traceback" not in out


def test_k_x_and_xdist_give_the_same_outcomes(fake):
    pytest_run(fake, "--parity", "--parity-k", "f32-inside")
    serial = outcomes(fake)
    r = pytest_run(fake, "--parity", "--parity-k", "f32-inside", "-n", "2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert outcomes(fake) == serial

    r = pytest_run(fake, "--parity", "--parity-k", "f32-inside", "-k", "mindspore-vs-torchvision")
    assert set(outcomes(fake)) == {n for n in serial if n.startswith("mindspore-vs-torchvision[")}
    assert "22 deselected" in r.stdout

    r = pytest_run(fake, "--parity", "--parity-k", "f32-inside", "-x")
    assert r.returncode == 1
    assert "1 failed, 4 passed" in r.stdout  # stopped at the first failure (case 1, second item)


def test_parity_only_deselects_other_tests_and_bad_options_are_usage_errors(fake):
    (fake / "test_other.py").write_text("def test_other():\n    pass\n")
    r = pytest_run(fake, "--parity", "--parity-suite", "seed", "--parity-only")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed, 1 deselected" in r.stdout
    r = pytest_run(fake, "--parity", "--parity-suite", "nope")
    assert r.returncode == 4 and "unknown suite 'nope'" in r.stderr
    r = pytest_run(fake)  # without --parity the plugin adds nothing
    assert r.returncode == 0 and "1 passed" in r.stdout


def test_seed_suite_passes_serially_and_under_xdist(tmp_path):
    r = pytest_run(tmp_path, "--parity", "--parity-suite", "seed", "--parity-out", "kept")
    assert r.returncode == 0, r.stdout + r.stderr
    serial = outcomes(tmp_path)
    assert serial == {f"{pair_slug(p)}[{SEED}]": "passed" for p in expected_pairs(("torchvision", "mindspore"))}
    assert (tmp_path / "kept" / "parity.json").is_file()  # --parity-out keeps results and reports
    r = pytest_run(tmp_path, "--parity", "--parity-suite", "seed", "-n", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert outcomes(tmp_path) == serial


@pytest.mark.slow
def test_declared_divergences_are_strict_xfails_under_xdist_too(tmp_path):
    r = pytest_run(tmp_path, "--parity", "--parity-k", "f32-inside")
    assert r.returncode == 0, r.stdout + r.stderr
    serial = outcomes(tmp_path)
    assert "xfailed" in serial.values() and "failed" not in serial.values()
    r = pytest_run(tmp_path, "--parity", "--parity-k", "f32-inside", "-n", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert outcomes(tmp_path) == serial


# The process running the suite is killed (as the OOM killer would) after two cases.
DYING_CONFTEST = '''
import os
import signal
from parity.engine import results, session
from parity.engine.model import Comparison, Verdict


def dying_run(cases, meta, out_dir, **kwargs):
    with open(out_dir / "results.jsonl", "a") as log:
        for case in cases[:2]:
            comps = tuple(Comparison(case.id, fw, "reference[x]", Verdict.PASS, None, None, "ok") for fw in ("torchvision", "mindspore"))
            results.append(log, results.CaseRecord(case.id, {}, comps + (Comparison(case.id, "mindspore", "torchvision", Verdict.PASS, None, None, "ok"),)))
    os.kill(os.getpid(), signal.SIGKILL)


session.run = dying_run
'''


def test_killing_the_xdist_worker_that_runs_the_suite_fails_the_session_in_bounded_time(tmp_path):
    (tmp_path / "conftest.py").write_text(DYING_CONFTEST)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "NO_COLOR": "1", "TMPDIR": str(scratch)}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--parity", "--parity-k", "f32-inside", "-n", "2"]
    try:
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=180, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the session hangs when the worker running the suite dies") from exc
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    assert "the process running the parity suite died after" in r.stdout, r.stdout[-3000:]
    assert "Traceback" not in r.stdout
    assert not [p for p in scratch.iterdir() if p.name.startswith("parity-pytest-")]  # the shared folder is removed


def test_a_runner_without_results_for_too_long_fails_after_parity_wait(fake):
    (fake / "conftest.py").write_text(FAKE_CONFTEST.replace("session.run = fake_run", (
        "import time\n"
        "def stuck_run(cases, meta, out_dir, **kwargs):\n"
        "    time.sleep(15)\n"
        "session.run = stuck_run\n")))
    r = pytest_run(fake, "--parity", "--parity-suite", "seed", "-n", "2", "--parity-wait", "3", timeout=100)
    assert r.returncode == 1, r.stdout[-3000:]
    assert "no new parity result for 3 s (--parity-wait)" in r.stdout


def test_bad_parity_timeouts_are_usage_errors(fake):
    for value in ("0", "-1", "nan", "inf", "1e300"):
        r = pytest_run(fake, "--parity", "--parity-suite", "seed", "--parity-timeout", value)
        assert r.returncode == 4 and "--parity-timeout must be a number of seconds" in r.stderr, (value, r.stderr)


def test_a_corrupt_results_line_fails_the_items_in_one_line(fake):
    """The plugin reads results.jsonl with the engine's reader: a finished line that does not parse
    is named (file and line), as parity gate names it, never a parser's traceback."""
    (fake / "conftest.py").write_text(FAKE_CONFTEST.replace("session.run = fake_run", (
        "def corrupt_run(cases, meta, out_dir, **kwargs):\n"
        "    (out_dir / 'results.jsonl').write_text('{\"case\": \"no comparisons\"}\\n')\n"
        "    return session.RunReport(meta.suite, meta.runners, {}, '')\n"
        "session.run = corrupt_run\n")))
    r = pytest_run(fake, "--parity", "--parity-suite", "seed", "-rA")
    assert r.returncode == 1, r.stdout[-3000:]
    got = outcomes(fake)
    assert got and set(got.values()) == {"failed"}
    assert "the parity run failed:" in r.stdout and "results.jsonl line 1 is corrupt" in r.stdout, r.stdout[-3000:]
    assert "KeyError" not in r.stdout and "Traceback" not in r.stdout
