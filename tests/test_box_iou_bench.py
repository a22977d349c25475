"""parity bench --op box_iou: its JSON rows (roi_align's row shape), same-run ratios, and the
engine's timing loop and ratio rule it is built on."""
import json

import numpy as np

from parity.engine import bench
from parity.ops.box_iou.bench import BASELINE, JOBS, WORKLOADS
from tests.test_cli import parity

ROW_KEYS = {"workload", "implementation", "dtype", "pass", "threads", "median_ms", "min_ms", "max_ms",
            "ratio_to_torchvision_f32", "runs", "error"}


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
        assert 1 <= x["runs"] <= 3 * bench.MAX_CALLS_FACTOR
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


def test_the_timing_loop_counts_calls_and_stops_at_its_budget():
    made, called = [], []

    def make(job):
        made.append(job["name"])
        return lambda: called.append(job["name"])

    header = {"jobs": [{"name": "a"}, {"name": "b"}], "calls": 4, "warmup": 2}
    times = bench.time_jobs("x", make, header)
    assert made == ["a", "b"] and called == ["a"] * 6 + ["b"] * 6  # two warm-up calls, then four timed
    assert [len(t) for t in times.values()] == [4, 4]
    called.clear()
    times = bench.time_jobs("x", make, {**header, "budget_s": 0.0})  # one timed call always runs
    assert called == ["a"] * 3 + ["b"] * 3 and [len(t) for t in times.values()] == [1, 1]


def test_short_calls_go_on_until_they_add_up_to_min_s():
    """A 10 ms call asked for 2 calls and 0.2 s runs past 2 calls, and never past 10 times 2."""
    import time

    times = bench.time_jobs("x", lambda job: lambda: time.sleep(0.01), {"jobs": [{"name": "a"}], "calls": 2, "min_s": 0.2, "warmup": 0})
    assert 3 <= len(times["a"]) <= 2 * bench.MAX_CALLS_FACTOR


def test_ratios_are_medians_over_the_baselines_median():
    jobs = (bench.Job("f", "base", "float32"), bench.Job("f", "other", "float64"), bench.Job("g", "broken", "float32"))
    rows = bench.rows_of("W", jobs, "base-float32", 1, {"base-float32": (1.0, 2.0, 9.0), "other-float64": (6.0,)},
                         {"broken-float32": "CRASH: signal 11"})
    assert [r.ratio for r in rows] == [1.0, 3.0, None]
    assert rows[2].error == "CRASH: signal 11" and rows[2].to_json()["runs"] == 0
    assert rows[1].to_json("ratio_to_x")["ratio_to_x"] == 3.0 and rows[0].median_ms == np.median([1.0, 2.0, 9.0]) * 1e3
