"""parity bench --op box_iou: its JSON rows (roi_align's row shape), same-run ratios, and the
engine's timing loop and ratio rule it is built on."""
import json

import numpy as np
import pytest

from parity.engine import bench
from parity.ops.box_iou.bench import BASELINE, JOBS, WORKLOADS
from tests.test_cli import parity

ROW_KEYS = {"workload", "implementation", "dtype", "pass", "threads", "median_ms", "min_ms", "max_ms",
            "ratio_to_torchvision_f32", "runs", "steady", "settling_runs", "error"}


def test_json_rows_on_a_tiny_workload():
    r = parity("bench", "--op", "box_iou", "--workloads", "B0", "--repeat", "3", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["implementation"], x["dtype"]) for x in rows] == [
        ("torchvision", "float32"), ("torchvision", "float64"), ("mindspore", "float32"), ("reference", "float64")]
    by_name = {f"{x['implementation']}-{x['dtype']}": x for x in rows}
    base = by_name[BASELINE]
    for x in rows:
        assert set(x) == ROW_KEYS and x["workload"] == "B0" and x["pass"] == "forward" and x["threads"] == 1
        assert x["error"] == "", x["error"]  # every implementation ran, MindSpore in its own worker
        assert 1 <= x["runs"] <= 3 and 0 <= x["settling_runs"] <= 3 * bench.MAX_CALLS_FACTOR - x["runs"]
        assert 0 < x["min_ms"] <= x["median_ms"] <= x["max_ms"]
        # the ratio is to torchvision float32 of the same run
        assert abs(x["ratio_to_torchvision_f32"] - x["median_ms"] / base["median_ms"]) <= 1e-9 * x["ratio_to_torchvision_f32"]
    assert base["ratio_to_torchvision_f32"] == 1.0
    assert "B0: mindspore (mindspore-float32)" in r.stderr


def test_an_unknown_workload_is_one_line_and_exit_2():
    r = parity("bench", "--op", "box_iou", "--workloads", "B9")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "B9" in r.stderr and "B0, B1, B2, B3" in r.stderr


def test_the_workloads_are_the_documented_box_counts_inside_the_domain():
    for name, (n, m) in {"B1": (1000, 1000), "B2": (5000, 5000), "B3": (2000, 100)}.items():
        arrays = WORKLOADS[name].inputs()
        assert arrays["boxes1"].shape == (n, 4) and arrays["boxes2"].shape == (m, 4)
        for b in arrays.values():
            assert (b >= 0).all() and (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    assert {j.name for j in JOBS} >= {BASELINE, "mindspore-float32", "reference-float64", "torchvision-float64"}


class _Clock:
    """A clock that only the timed calls move: each call takes the next of ``durations`` seconds."""

    def __init__(self, durations):
        self.now, self.durations = 0.0, list(durations)

    def __call__(self) -> float:
        return self.now

    def call(self) -> None:
        self.now += self.durations.pop(0)


def test_the_timing_loop_counts_calls_and_stops_at_its_budget(monkeypatch):
    made, called = [], []
    clock = _Clock([0.01] * 100)

    def make(job):
        made.append(job["name"])
        return lambda: (called.append(job["name"]), clock.call())

    monkeypatch.setattr(bench.time, "perf_counter", clock)
    header = {"jobs": [{"name": "a"}, {"name": "b"}], "calls": 4, "warmup": 2}
    times = bench.time_jobs("x", make, header)
    assert made == ["a", "b"] and called == ["a"] * 6 + ["b"] * 6  # two warm-up calls, then four timed (steady)
    assert [len(t) for t in times.values()] == [4, 0, 4, 0]
    called.clear()
    times = bench.time_jobs("x", make, {**header, "budget_s": 0.0})  # one timed call always runs
    assert called == ["a"] * 3 + ["b"] * 3 and [len(times[k]) for k in "ab"] == [1, 1]


def test_a_job_goes_on_until_its_last_calls_are_steady_and_reports_those(monkeypatch):
    """Calls that stall first (as W2's reference at 2 threads did in a new process: 150-172 ms, then
    31-33 ms) are left out of the row, and counted; a job that never steadies reports its last calls."""
    clock = _Clock([0.150, 0.160, 0.031, 0.150, 0.033, 0.032, 0.031, 0.5])
    monkeypatch.setattr(bench.time, "perf_counter", clock)
    times = bench.time_jobs("x", lambda job: clock.call, {"jobs": [{"name": "a"}], "calls": 3, "warmup": 0})
    assert list(times["a"]) == pytest.approx([0.033, 0.032, 0.031])
    assert list(times["a" + bench.SETTLING]) == pytest.approx([0.150, 0.160, 0.031, 0.150])
    row = bench.Row("W", bench.Job("x", "a", "f"), 1, tuple(times["a"]), settling=len(times["a" + bench.SETTLING]))
    assert row.steady and row.to_json()["settling_runs"] == 4 and row.to_json()["steady"] is True

    clock = _Clock([0.1, 0.2] * bench.MAX_CALLS_FACTOR)
    monkeypatch.setattr(bench.time, "perf_counter", clock)
    times = bench.time_jobs("x", lambda job: clock.call, {"jobs": [{"name": "a"}], "calls": 2, "warmup": 0})
    assert list(times["a"]) == pytest.approx([0.1, 0.2]) and len(times["a" + bench.SETTLING]) == 2 * bench.MAX_CALLS_FACTOR - 2
    assert not bench.Row("W", bench.Job("x", "a", "f"), 1, tuple(times["a"])).steady


def test_an_unsteady_row_is_marked_in_the_table(capsys):
    from parity.reporters.bench_table import print_rows

    job = bench.Job("x", "impl", "float32")
    rows = [bench.Row("W", job, 1, (0.031, 0.032)), bench.Row("V", job, 1, (0.031, 0.150), settling=8)]
    print_rows("t", rows, {}, 1)
    out = capsys.readouterr().out
    assert out.count("(not steady)") == 1 and "not steady: the last calls" in out


def test_ratios_are_medians_over_the_baselines_median():
    jobs = (bench.Job("f", "base", "float32"), bench.Job("f", "other", "float64"), bench.Job("g", "broken", "float32"))
    rows = bench.rows_of("W", jobs, "base-float32", 1, {"base-float32": (1.0, 2.0, 9.0), "other-float64": (6.0,)},
                         {"broken-float32": "CRASH: signal 11"})
    assert [r.ratio for r in rows] == [1.0, 3.0, None]
    assert rows[2].error == "CRASH: signal 11" and rows[2].to_json()["runs"] == 0
    assert rows[1].to_json("ratio_to_x")["ratio_to_x"] == 3.0 and rows[0].median_ms == np.median([1.0, 2.0, 9.0]) * 1e3
