"""Exit statuses people can trust: 0 expected, 1 unexpected verdicts, 2 usage, 3 parity could not finish."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from parity.ops.roi_align import wire
from parity.shells import cli
from parity.ops.roi_align import judge
from parity.engine import pool, results, session
from parity.engine.errors import EXIT_INCOMPLETE, ParityFailure
from parity.engine.model import Case, Comparison, RunResult, Status, Verdict
from parity.ops.roi_align.attrs import Attrs
from parity.engine.results import RunMeta
from tests.test_cli import parity

SEED_META = RunMeta("seed", None, ("torchvision", "mindspore", "reference"))


def _stored_run(folder):
    folder.mkdir(parents=True, exist_ok=True)
    results.write_meta(folder, SEED_META, {"torch": "x"}, "machine")
    return folder


# -- 2: parity's own failures exit 3, with one line and the resume command --------------------

def test_an_unwritable_report_is_exit_3_with_the_resume_hint_not_exit_1(tmp_path):
    (tmp_path / "parity.html").mkdir()  # the report cannot be written there
    r = parity("run", "--suite", "seed", "--out", str(tmp_path))
    assert r.returncode == EXIT_INCOMPLETE == 3, r.stdout[-2000:] + r.stderr[-2000:]
    assert "parity could not finish: IsADirectoryError" in r.stderr and "Traceback" not in r.stderr
    assert f"continue with: parity run --resume {tmp_path}" in r.stderr
    assert len(results.read_records(tmp_path)) == 1  # the finished case is kept


def test_parity_debug_adds_the_traceback_and_keeps_the_status(tmp_path):
    r = parity("run", "--resume", str(tmp_path), env={"PARITY_DEBUG": "1"})
    assert r.returncode == 2 and "Traceback" in r.stderr and "holds no parity run" in r.stderr


def test_any_unexpected_exception_of_parity_is_exit_3(monkeypatch, tmp_path):
    def boom(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(session, "run", boom)
    r = CliRunner().invoke(cli.main, ["run", "--suite", "seed", "--out", str(tmp_path)])
    assert r.exit_code == 3, r.output
    assert "parity could not finish: RecursionError: maximum recursion depth exceeded" in r.output


# -- 3: bad timeouts, --resume conflicts, nothing left to do ------------------------------------

@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e300"])
def test_bad_timeouts_are_usage_errors(value, tmp_path):
    r = parity("run", "--suite", "seed", "--out", str(tmp_path), "--timeout", value)
    assert r.returncode == 2 and "--timeout must be a number of seconds" in r.stderr, r.stderr
    assert not (tmp_path / "results.jsonl").exists()


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--suite", "edge"], "--suite 'edge' conflicts"),
        (["-k", "f16"], "-k 'f16' conflicts"),
        (["--runners", "torchvision"], "--runners 'torchvision' conflicts"),
        (["--shard", "1/2"], "--shard '1/2' conflicts"),
        (["--grad"], "--grad True conflicts"),
        (["--repeat", "3"], "--repeat 3 conflicts"),
    ],
)
def test_resume_rejects_options_that_conflict_with_the_stored_run(flags, named, tmp_path):
    stored = _stored_run(tmp_path / "run")
    r = CliRunner().invoke(cli.main, ["run", "--resume", str(stored), *flags])
    assert r.exit_code == 2 and named in r.output, r.output


def test_resume_rejects_another_out_folder(tmp_path):
    stored = _stored_run(tmp_path / "run")
    r = CliRunner().invoke(cli.main, ["run", "--resume", str(stored), "--out", str(tmp_path / "other")])
    assert r.exit_code == 2 and "--out" in r.output and "conflicts with --resume" in r.output


@pytest.mark.slow
def test_resuming_a_finished_run_starts_no_worker_and_honours_identical_options(tmp_path):
    assert parity("run", "--suite", "seed", "--out", str(tmp_path)).returncode == 0
    # a worker started under /bin/false could not say hello: the run would fail with exit 2
    r = parity("run", "--resume", str(tmp_path), "--suite", "seed", "--runners", "torchvision,mindspore",
               "--python", "torchvision=/bin/false")
    assert r.returncode == 0, r.stderr
    assert "resumed: 1 cases reused" in r.stdout


# -- 16: empty selections, options of another suite ---------------------------------------------

@pytest.mark.slow
def test_an_empty_shard_is_an_error_unless_allowed(tmp_path):
    r = parity("run", "--suite", "seed", "--shard", "600/1000", "--out", str(tmp_path))
    assert r.returncode == 2 and "shard 600/1000 holds no case" in r.stderr and "--allow-empty" in r.stderr
    r = parity("run", "--suite", "seed", "--shard", "2/2", "--out", str(tmp_path), "--allow-empty")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "run.json").read_text())["shard"] == [2, 2]


def test_an_empty_selection_is_an_error_unless_allowed(tmp_path):
    r = CliRunner().invoke(cli.main, ["run", "--suite", "seed", "-k", "no-such-case", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "matches -k 'no-such-case'" in r.output and "--allow-empty" in r.output


@pytest.mark.parametrize("flags", [["--budget", "5"], ["--seed", "3"], ["--suite", "edge", "--seed", "3"]])
def test_budget_and_seed_outside_the_random_suite_are_errors(flags, tmp_path):
    r = CliRunner().invoke(cli.main, ["run", *flags, "--out", str(tmp_path)])
    assert r.exit_code == 2 and "applies to the random suite only" in r.output, r.output


# -- 11.5: parity's bugs are never a framework's result -------------------------------------------

def test_a_broken_mapping_is_parity_failure_not_the_framework_error(tmp_path):
    w = pool.Worker("broken", tmp_path / "broken.log", module="tests.broken_runner", timeout=30)
    try:
        w.send({"case_id": "c", "attrs": {"output_size": [2, 2]}}, {"features": np.ones(3)})
        with pytest.raises(ParityFailure) as info:
            w.receive("c")
    finally:
        w.stop()
    message = str(info.value)
    assert "KeyError: 'pooled_height'" in message and "broken_runner.py" in message and "bug in parity" in message
    assert "Traceback" in (tmp_path / "broken.log").read_text()  # the detail is in the worker's log


def test_a_run_with_a_broken_runner_stops_as_parity_failure_and_blames_no_framework(monkeypatch, tmp_path):
    from parity.ops.roi_align import runners

    monkeypatch.setitem(runners.RUNNERS, "mindspore", "tests.broken_runner")
    cases = SEED_META.all_cases()
    with pytest.raises(ParityFailure, match="parity's mindspore runner failed"):
        session.run(cases, SEED_META, tmp_path, timeout=60)
    stored = [c for r in results.read_records(tmp_path).values() for c in r.comparisons]
    assert not [c for c in stored if c.actual == "mindspore" and c.verdict is Verdict.ERROR]


# -- 4: the reference's time scales with the case; its failure hides no verdict ----------------

def _case(features, rois, output=(7, 7), scale=0.25, sr=2):
    return Case("c", "standard", Attrs(output, scale, sr, False), {"features": features, "rois": rois})


def test_the_reference_timeout_grows_with_the_case():
    small = _case(np.zeros((1, 1, 4, 4), np.float32), np.array([[0, 0, 0, 3, 3]], np.float32))
    # parity bench's W4 (4x256x200x272, 2000 rois, 7x7, sampling 2, scale 1/4), without its memory
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 800, (2000, 2))
    rois = np.column_stack([rng.integers(0, 4, 2000), xy, xy + rng.uniform(16, 256, (2000, 2))]).astype(np.float32)
    w4 = _case(np.broadcast_to(np.float32(0), (4, 256, 200, 272)), rois)
    frameworks = ("torchvision", "mindspore")
    t_small = wire.reference_timeout(small, wire.request_header(small, "reference", frameworks), 60, False)
    t_w4 = wire.reference_timeout(w4, wire.request_header(w4, "reference", frameworks), 60, False)
    assert 60 <= t_small < 61
    assert t_w4 > 60.6 * 1.5  # the reference was measured at 60.6 s on a W4-sized case


def test_a_failing_reference_hides_no_framework_crash():
    case = _case(np.ones((1, 1, 6, 6), np.float32), np.array([[0, 0, 0, 3, 3]], np.float32), (2, 2))
    outs = {
        "torchvision": RunResult(case.id, "torchvision", Status.OK, {"out": np.zeros((1, 1, 2, 2), np.float32)}),
        "mindspore": RunResult(case.id, "mindspore", Status.CRASH, message="worker process died (SIGSEGV)"),
    }
    got = judge.judge(case, outs, RunResult(case.id, "reference", Status.TIMEOUT, message="no result after 60 s"))
    by_actual = {c.actual: c for c in got}
    assert by_actual["reference"].verdict is Verdict.ERROR and "parity's failure" in by_actual["reference"].message
    assert by_actual["mindspore"].verdict is Verdict.CRASH and "SIGSEGV" in by_actual["mindspore"].message
    assert "torchvision" not in by_actual  # its numbers cannot be judged without the reference


def test_a_run_where_the_reference_failed_exits_3(monkeypatch, tmp_path):
    failed = Comparison("c", "reference", "(documented semantics)", Verdict.ERROR, None, None, "parity's reference failed")
    crash = Comparison("c", "mindspore", "reference", Verdict.CRASH, None, None, "worker process died (SIGSEGV)")

    def fake_run(cases, meta, out_dir, **kwargs):
        report = session.RunReport(meta.suite, meta.runners, {}, "")
        report.comparisons = [failed, crash]
        report.cases = 1
        return report

    monkeypatch.setattr(session, "run", fake_run)
    monkeypatch.setattr("parity.reporters.write_all", lambda *a: [])
    r = CliRunner().invoke(cli.main, ["run", "--suite", "seed", "--out", str(tmp_path)])
    assert r.exit_code == 3, r.output
    assert "parity could not finish: it failed on 1 of 1 cases" in r.output


# -- 5: a framework that crashes on every call is not restarted for every case -------------------

def _counting_worker(tmp_path):
    """The faulty runner's worker, and a list that gets an entry at each start of its process."""
    w = pool.Worker("faulty", tmp_path / "faulty.log", module="tests.faulty_runner", timeout=30)
    starts = []
    real_start = w.start
    w.start = lambda: (starts.append(1), real_start())[1]
    return w, starts


def test_consecutive_crashes_switch_to_forked_children_of_the_warm_worker(tmp_path):
    w, starts = _counting_worker(tmp_path)
    try:
        got = []
        for _ in range(6):
            w.send({"case_id": "segfault"}, {"features": np.ones(3)})
            got.append(w.receive("segfault"))
        w.send({"case_id": "ok"}, {"features": np.ones(3)})
        fine = w.receive("ok")
    finally:
        w.stop()
    assert [r.status for r in got] == [Status.CRASH] * 6
    assert all("SIGSEGV" in r.message for r in got)
    assert "forked" in got[-1].message
    assert len(starts) == 1 + pool.CRASHES_BEFORE_FORKING  # the first start and a restart after each crash until the switch
    assert len(w.notices) == 1 and "crashed on 1 case like segfault" in w.notices[0]
    assert fine.status is Status.OK and np.array_equal(fine.outputs["out"], np.full(3, 2.0))


def test_isolated_cases_share_one_forked_child_until_one_kills_it(tmp_path):
    """A fork per isolated case cost 13 ms of a torchvision worker; the child now serves case after
    case, and a case that kills it takes only it: the next one gets a fresh child."""
    w = pool.Worker("faulty", tmp_path / "faulty.log", module="tests.faulty_runner", timeout=30)

    def ask(case: str):
        w.send({"case_id": case}, {"features": np.ones(3)})
        return w.receive(case)

    try:
        crashes = [ask("segfault") for _ in range(pool.CRASHES_BEFORE_FORKING)]
        first, second = ask("pid"), ask("pid")
        killed = ask("segfault")
        third = ask("pid")
        worker_pid = w.proc.pid
    finally:
        w.stop()
    assert [r.status for r in (*crashes, killed)] == [Status.CRASH] * (pool.CRASHES_BEFORE_FORKING + 1)
    assert "forked" in killed.message and "SIGSEGV" in killed.message
    assert all(r.status is Status.OK for r in (first, second, third))
    pids = [int(r.outputs["out"][0]) for r in (first, second, third)]
    assert pids[0] == pids[1] != worker_pid  # one child for both cases, not the worker itself
    assert pids[2] not in (pids[0], worker_pid)  # after the crash: a new child


def test_a_risky_case_runs_forked_from_the_first_so_its_crash_spares_the_worker(tmp_path):
    """A case outside the documented domain (``risky``) runs in the forked child before any crash:
    the first one that kills its framework takes only the child, the warm worker lives on (a restart
    cost the driver a framework's import, 2-3 s, for each structure's first crash), and the notice
    says so."""
    w = pool.Worker("faulty", tmp_path / "faulty.log", module="tests.faulty_runner", timeout=30)

    def ask(case: str, risky: bool):
        w.send({"case_id": case}, {"features": np.ones(3)}, risky=risky)
        return w.receive(case)

    try:
        before = ask("pid", False)
        worker_pid = w.proc.pid
        killed = ask("segfault", True)
        after = ask("pid", False)
        assert w.proc.pid == worker_pid  # never restarted
    finally:
        w.stop()
    assert killed.status is Status.CRASH and "forked" in killed.message and "SIGSEGV" in killed.message
    assert int(before.outputs["out"][0]) == worker_pid  # a plain case: the worker itself
    assert int(after.outputs["out"][0]) != worker_pid  # a case like the one that crashed: a child, from now on
    assert len(w.notices) == 1 and "which lives on" in w.notices[0]


def test_forking_is_dropped_where_a_forked_child_is_slower_than_a_restart(tmp_path):
    w = pool.Worker("faulty", tmp_path / "faulty.log", module="tests.faulty_runner", timeout=30)
    try:
        got = []
        for _ in range(pool.CRASHES_BEFORE_FORKING + 2):
            w.send({"case_id": "slow-segfault"}, {"features": np.ones(3)})
            got.append(w.receive("slow-segfault"))
    finally:
        w.stop()
    assert [r.status for r in got] == [Status.CRASH] * len(got)
    assert "forked" in got[pool.CRASHES_BEFORE_FORKING].message  # the first case after the switch ran forked
    assert "forked" not in got[-1].message  # then back to a restart per crash
    assert len(w.notices) == 2 and "is restarted after crashes again" in w.notices[1]


def test_crashes_not_in_a_row_also_switch_to_forked_children(tmp_path):
    """A framework that dies on some cases of a structure and not others (torchvision on a NaN
    coordinate, fine on an out-of-range index, both robustness cases) pays a restart for its
    first CRASHES_BEFORE_FORKING crashes only."""
    w, starts = _counting_worker(tmp_path)
    try:
        got = []
        for case in ["segfault", "ok"] * (pool.CRASHES_BEFORE_FORKING + 2):
            w.send({"case_id": case}, {"features": np.ones(3)})
            got.append(w.receive(case))
    finally:
        w.stop()
    crashes = [r for r in got if r.case_id == "segfault"]
    assert [r.status for r in crashes] == [Status.CRASH] * len(crashes)
    assert all(r.status is Status.OK for r in got if r.case_id == "ok")
    assert "forked" not in crashes[pool.CRASHES_BEFORE_FORKING - 1].message and "forked" in crashes[-1].message
    assert len(starts) == 1 + pool.CRASHES_BEFORE_FORKING
