"""Files parity writes and reads: atomic replacement, no links followed, readers that never write."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from parity.engine import files, limits, results
from parity.ops.roi_align import limits as roi_limits
from parity.ops.roi_align import fixtures, generate
from parity.engine.errors import FixtureError, UsageError
from parity.engine.model import Case
from parity.ops.roi_align.attrs import Attrs
from parity.ops.roi_align.runners import reference as reference_runner
from parity.ops.roi_align.wire import grad_weight, request_header
from tests.test_cli import ROOT, parity
from tests.test_gate import stored_run


def _in_a_small_disk(code: str, limit: int, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``code`` with writes beyond ``limit`` bytes per file failing (EFBIG), as on a full disk."""
    prelude = textwrap.dedent(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial_one(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    path.write_text("old")

    def no_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError):
        files.atomic_write(path, "new" * 1000)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_reports_run_json_and_baselines_survive_a_full_disk(tmp_path):
    """Every writer goes through the atomic helper: with writes failing past 2 kB, old files stay whole."""
    out = tmp_path / "run"
    stored_run(out)
    base = tmp_path / "baseline.json"
    code = f"""
        from pathlib import Path
        from parity.engine import gate, results
        from parity.engine.merge import Shard
        from parity.reporters import write_all
        from parity.engine.session import RunReport
        out, base = Path({str(out)!r}), Path({str(base)!r})
        meta = results.read_meta(out)
        records = results.read_records(out)
        report = RunReport(meta.suite, meta.runners, {{}}, "m")
        for r in records.values():
            report.add(r)
        cases = meta.all_cases()
        failed = []
        for name, write in (("reports", lambda: write_all(report, cases, out)),
                            ("run.json", lambda: results.write_meta(out, meta, {{"torch": "x" * 5000}}, "m")),
                            ("baseline", lambda: gate.write(base, gate.from_records(meta, records)))):
            try:
                write()
            except OSError:
                failed.append(name)
        print(",".join(failed))
    """
    # First a complete set of files (no limit), then the same writes with the disk "full".
    full = _in_a_small_disk(code, 1 << 30, tmp_path)
    assert full.returncode == 0 and full.stdout.strip() == "", full.stderr
    before = {p.name: p.read_bytes() for p in [*out.iterdir(), base] if p.is_file()}
    assert {"parity.html", "parity.md", "parity.json", "parity.xml", "run.json"} <= set(before)
    small = _in_a_small_disk(code, 2048, tmp_path)
    assert small.returncode == 0, small.stderr
    assert small.stdout.strip() == "reports,run.json,baseline"  # each write did fail
    after = {p.name: p.read_bytes() for p in [*out.iterdir(), base] if p.is_file()}
    assert after == before  # nothing truncated, no temporary file left


def test_a_link_planted_at_the_write_probe_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "precious"
    target.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".write-test").symlink_to(target)
    r = parity("run", "--suite", "seed", "--out", str(out))
    assert r.returncode == 2 and "symbolic link" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("name", ["parity.html", "results.jsonl", "run.json", "arrays"])
def test_links_in_an_output_folder_are_refused(tmp_path, name):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "file").write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(outside if name == "arrays" else outside / "file")
    r = parity("run", "--suite", "seed", "--out", str(out))
    assert r.returncode == 2 and "symbolic link" in r.stderr
    assert (outside / "file").read_text() == "keep me" and os.listdir(outside) == ["file"]


def test_gate_refuses_a_linked_results_file_and_leaves_its_target_whole(tmp_path):
    run = tmp_path / "run"
    stored_run(run)
    base = tmp_path / "baseline.json"
    assert parity("baseline", "update", str(run), "--out", str(base)).returncode == 0
    target = tmp_path / "elsewhere.jsonl"
    target.write_bytes((run / "results.jsonl").read_bytes() + b'{"case": "cut')  # a cut-off last line
    want = target.read_bytes()
    (run / "results.jsonl").unlink()
    (run / "results.jsonl").symlink_to(target)
    r = parity("gate", "--baseline", str(base), str(run))
    assert r.returncode == 2 and "symbolic link" in r.stderr and "Traceback" not in r.stderr
    assert target.read_bytes() == want


def test_merge_does_not_copy_a_linked_file_from_outside(tmp_path):
    for i in (1, 2):
        stored_run(tmp_path / f"s{i}", shard=(i, 2))
    secret = tmp_path / "secret"
    secret.write_text("not for the artifact")
    (tmp_path / "s1" / "arrays").mkdir()
    (tmp_path / "s1" / "arrays" / "0123.npz").symlink_to(secret)
    out = tmp_path / "merged"
    r = parity("merge", str(out), str(tmp_path / "s1"), str(tmp_path / "s2"))
    assert r.returncode == 2 and "symbolic link" in r.stderr and "Traceback" not in r.stderr
    copied = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert all(p.read_bytes() != secret.read_bytes() for p in copied)


def _cut_off(run: Path) -> bytes:
    with open(run / "results.jsonl", "ab") as f:
        f.write(b'{"case": "roi_align[being written')
    return (run / "results.jsonl").read_bytes()


def test_read_only_commands_leave_a_cut_off_run_as_it_is(tmp_path):
    run = tmp_path / "run"
    stored_run(run)
    base = tmp_path / "baseline.json"
    assert parity("baseline", "update", str(run), "--out", str(base)).returncode == 0
    before = _cut_off(run)
    assert parity("gate", "--baseline", str(base), str(run)).returncode == 0
    assert (run / "results.jsonl").read_bytes() == before
    case_id = json.loads(before.splitlines()[0])["case"]
    r = parity("repro", case_id, "--results", str(run), "--no-run", "--out", str(tmp_path / "repro"))
    assert r.returncode == 0, r.stderr
    assert (run / "results.jsonl").read_bytes() == before
    assert len(results.read_records(run)) == len(before.splitlines()) - 1
    assert (run / "results.jsonl").read_bytes() == before


def test_merge_leaves_cut_off_shards_as_they_are(tmp_path):
    for i in (1, 2):
        stored_run(tmp_path / f"s{i}", shard=(i, 2))
    before = _cut_off(tmp_path / "s2")
    parity("merge", str(tmp_path / "merged"), str(tmp_path / "s1"), str(tmp_path / "s2"))
    assert (tmp_path / "s2" / "results.jsonl").read_bytes() == before


def test_only_resume_cuts_the_unfinished_line_and_notes_it(tmp_path):
    run = tmp_path / "run"
    stored_run(run)
    before = _cut_off(run)
    records = results.read_records(run, repair=True)
    after = (run / "results.jsonl").read_bytes()
    assert before.startswith(after) and after.endswith(b"\n") and len(after.splitlines()) == len(records)
    note = (run / "logs" / "resume.log").read_text()
    assert "cut an unfinished last line" in note and "being written" in note


def test_a_last_line_without_its_newline_is_unfinished_even_when_it_parses(tmp_path):
    """A write cut just before the newline (a full disk, a kill between two writes) leaves whole JSON
    without its newline: that case is not finished, and resume cuts the line, so the record it
    appends next starts a line of its own instead of being glued onto it."""
    run = tmp_path / "run"
    ids = stored_run(run)
    whole = (run / "results.jsonl").read_bytes()
    lines = whole.splitlines(keepends=True)
    (run / "results.jsonl").write_bytes(whole[:-1])  # the last record, all but its newline
    json.loads(lines[-1])  # it parses
    assert list(results.read_records(run)) == ids[:-1]
    assert (run / "results.jsonl").read_bytes() == whole[:-1]  # reading never modifies a run
    assert list(results.read_records(run, repair=True)) == ids[:-1]
    assert (run / "results.jsonl").read_bytes() == b"".join(lines[:-1])
    with open(run / "results.jsonl", "a") as log:  # what parity run --resume does next
        log.write(lines[-1].decode())
    assert list(results.read_records(run)) == ids


def test_the_tail_reader_takes_each_line_once_its_newline_is_written(tmp_path):
    """The pytest plugin follows a run as it appends (parity.engine.results.ResultsTail)."""
    run = tmp_path / "run"
    ids = stored_run(run)
    lines = (run / "results.jsonl").read_bytes().splitlines(keepends=True)
    path = run / "results.jsonl"
    path.unlink()
    tail = results.ResultsTail(run)
    assert tail.read_new() == []  # no file yet
    path.write_bytes(lines[0] + lines[1][:10])
    assert [r.case_id for r in tail.read_new()] == ids[:1] and tail.unfinished == lines[1][:10]
    with open(path, "ab") as f:
        f.write(lines[1][10:-1])
    assert tail.read_new() == []  # still no newline
    with open(path, "ab") as f:
        f.write(b"\n" + lines[2])
    assert [r.case_id for r in tail.read_new()] == ids[1:3] and tail.unfinished == b""
    assert tail.read_new() == []
    with open(path, "ab") as f:
        f.write(b"{not json\n")
    with pytest.raises(FixtureError, match="line 4 is corrupt"):
        tail.read_new()


def test_the_estimate_bounds_what_the_reference_returns():
    """Measured: the bytes of the reference's outputs (forward and gradient) never exceed the estimate."""
    frameworks = ("torchvision", "mindspore")
    cases = [c for c in generate.cases_for("standard") if c.features.ndim == 4 and c.rois.ndim == 2][::25]
    assert cases
    for case in cases:
        header = request_header(case, "reference", frameworks)
        arrays = {"features": case.features, "rois": case.rois, "grad_weight": grad_weight(case)}
        outputs = reference_runner.run(header, arrays)
        returned = sum(a.nbytes for a in outputs.values())
        assert returned <= roi_limits.case_bytes(case, frameworks, grad=True), case.id
        assert len(header["semantics"]) <= 3 * len(frameworks)  # the bound limits.check takes as a shortcut


def _large_fixture(folder: Path, rois: int) -> None:
    features = np.zeros((1, 256, 8, 8), np.float32)
    boxes = np.tile(np.array([[0, 0, 0, 4, 4]], np.float32), (rois, 1))
    case = Case(f"roi_align[large]-{rois}", "standard", Attrs((7, 7), 1.0, 2, False), {"features": features, "rois": boxes})
    fixtures.save([case], folder, "large")


def test_a_case_over_the_memory_limit_is_refused_before_any_worker_starts(tmp_path):
    big = tmp_path / "big"
    _large_fixture(big, 20_000)  # ~6 GB of float64 outputs even for one semantics
    r = parity("run", "--fixtures", str(big), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "--max-case-mb 4096" in r.stderr and "roi_align[large]-20000" in r.stderr
    assert not (tmp_path / "out" / "logs").exists()  # no worker was started
    # Under the load-time floor (one semantics) but over the limit once every semantics is counted.
    mid = tmp_path / "mid"
    _large_fixture(mid, 1_700)
    r = parity("run", "--fixtures", str(mid), "--max-case-mb", "700", "--out", str(tmp_path / "out2"))
    assert r.returncode == 2 and "needs an estimated" in r.stderr and "raise --max-case-mb" in r.stderr
    assert not (tmp_path / "out2" / "logs").exists()


def test_the_limit_check_names_the_case_and_the_option():
    case = generate.cases_for("seed")[0]
    need = roi_limits.case_bytes(case, ("torchvision",), grad=False)
    limits.check([case], ("torchvision",), False, need, roi_limits.case_bytes)
    with pytest.raises(UsageError, match=r"more than --max-case-mb 0.*raise --max-case-mb"):
        limits.check([case], ("torchvision",), False, need - 1, roi_limits.case_bytes)
