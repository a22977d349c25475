"""parity bench runs end to end on the tiny workload.  No figure is asserted: timings on a shared
machine are not test outcomes; the rows' shape is."""
import json
import os
import subprocess
import sys
from pathlib import Path

from parity.engine.bench import MAX_CALLS_FACTOR

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"workload", "implementation", "dtype", "threads", "median_ms", "min_ms", "max_ms", "ratio_to_torchvision_f32"}


def bench(*args: str, suite: str = "none") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "parity.shells.cli", "bench", "--workloads", "W1", "--repeat", "1", "--suite", suite, *args],
        check=False, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"}, timeout=600,
    )


def test_json_rows_have_the_fields():
    r = bench("--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads(r.stdout)
    assert {(row["implementation"], row["dtype"], row["pass"]) for row in rows} == {
        ("torchvision", "float32", "forward"), ("torchvision", "float64", "forward"), ("mindspore", "float32", "forward"),
        ("reference", "float64", "forward"), ("torchvision", "float32", "backward"), ("reference", "float64", "backward"),
    }
    for row in rows:
        assert FIELDS <= row.keys(), row
        assert row["workload"] == "W1" and row["threads"] == 1 and row["error"] == "", row
        assert 1 <= row["runs"] <= MAX_CALLS_FACTOR and row["min_ms"] <= row["median_ms"] <= row["max_ms"]  # --repeat 1, short calls go on
        assert row["ratio_to_torchvision_f32"] is not None


def test_table_names_threads_and_versions():
    r = bench("--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "threads per worker: 1" in r.stdout and "torchvision" in r.stdout and "mindspore" in r.stdout


def test_suite_row_reports_cases_per_second():
    """The suite row counts the suite's cases; its rate is a positive number (not a bound on it)."""
    from parity.ops.roi_align import generate

    r = bench("--json", suite="seed")
    assert r.returncode == 0, r.stdout + r.stderr
    (row,) = [row for row in json.loads(r.stdout) if row["pass"] == "suite"]
    assert row["workload"] == "suite:seed" and row["cases"] == len(generate.cases_for("seed"))
    assert row["cases_per_s"] > 0 and 0 <= row["startup_s"] <= row["wall_s"]
    assert row["runners"] == ["torchvision", "mindspore", "reference"]


def test_default_workloads_are_the_quick_ones_and_full_takes_all():
    from parity.ops.roi_align import bench as b

    assert [w.name for w in b.parse_workloads(None)] == ["W1", "W2", "W3"]
    assert [w.name for w in b.parse_workloads(None, full=True)] == ["W1", "W2", "W2a", "W3", "W4"]
    assert [w.name for w in b.parse_workloads("W4,W1", full=False)] == ["W4", "W1"]
