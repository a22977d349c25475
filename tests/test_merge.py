"""parity merge: the shards of a run merge into the run an unsharded invocation gives."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from parity.ops.roi_align import generate
from parity.engine.session import arrays_path
from tests.test_cli import ROOT, parity
from tests.test_gate import stored_run
from tests.test_resume import VOLATILE


def _doc(out: Path) -> dict:
    doc = json.loads((out / "parity.json").read_text())
    return {k: v for k, v in doc.items() if k not in VOLATILE}


def _run_all(tmp_path: Path, n: int, *args: str) -> tuple[list[Path], Path]:
    """``parity run --shard i/n`` for every i and the unsharded run, all at once (as CI jobs would)."""
    shards = [tmp_path / f"shard{i}" for i in range(1, n + 1)]
    whole = tmp_path / "whole"
    runs = [(["--shard", f"{i}/{n}"], f) for i, f in enumerate(shards, 1)] + [([], whole)]
    procs = [
        subprocess.Popen([sys.executable, "-m", "parity.shells.cli", "run", *args, *extra, "--out", str(out)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for extra, out in runs
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    return shards, whole


def _check_merge_equals_unsharded(tmp_path: Path, *args: str) -> None:
    shards, whole = _run_all(tmp_path, 2, *args)
    merged = tmp_path / "merged"
    r = parity("merge", str(merged), *map(str, reversed(shards)))  # any order
    assert r.returncode == 0, r.stdout + r.stderr
    assert "merged 2 shards" in r.stdout
    assert _doc(merged) == _doc(whole)
    run = json.loads((merged / "run.json").read_text())
    assert run["shard"] == [1, 1] and run["versions"] == json.loads((whole / "run.json").read_text())["versions"]
    assert (merged / "results.jsonl").read_text().count("\n") == len(_doc(whole)["cases"])
    for case in _doc(whole)["cases"]:
        got, want = np.load(arrays_path(merged, case["id"])), np.load(arrays_path(whole, case["id"]))
        assert set(got.files) == set(want.files)
        for name in got.files:
            np.testing.assert_array_equal(got[name], want[name])
    base = tmp_path / "baseline.json"
    assert parity("baseline", "update", str(whole), "--out", str(base)).returncode == 0
    assert parity("gate", "--baseline", str(base), str(merged)).returncode == 0


@pytest.mark.slow
def test_two_shards_merge_into_the_unsharded_run(tmp_path):
    _check_merge_equals_unsharded(tmp_path, "-k", "f32-inside")


def test_shards_must_be_one_complete_set(tmp_path):
    for i in (1, 2, 3):
        stored_run(tmp_path / f"s{i}", shard=(i, 3))
    r = parity("merge", str(tmp_path / "out"), str(tmp_path / "s1"), str(tmp_path / "s3"))
    assert r.returncode == 2 and "missing shard(s) 2/3" in r.stderr and "Traceback" not in r.stderr
    r = parity("merge", str(tmp_path / "out"), str(tmp_path / "s1"), str(tmp_path / "s1"), str(tmp_path / "s2"))
    assert r.returncode == 2 and "shard 1/3 is given more than once" in r.stderr
    stored_run(tmp_path / "other", shard=(2, 2))
    r = parity("merge", str(tmp_path / "out"), str(tmp_path / "s1"), str(tmp_path / "other"))
    assert r.returncode == 2 and "is not a shard of the same run" in r.stderr
    stored_run(tmp_path / "partial", shard=(2, 3), drop=1)
    r = parity("merge", str(tmp_path / "out"), *(str(tmp_path / s) for s in ("s1", "partial", "s3")))
    assert r.returncode == 2 and "shard 2/3" in r.stderr and "is incomplete" in r.stderr
    r = parity("merge", str(tmp_path / "s1"), *(str(tmp_path / f"s{i}") for i in (1, 2, 3)))
    assert r.returncode == 2 and "is one of the shards" in r.stderr
    r = parity("merge", str(tmp_path / "out"), str(tmp_path / "nothing"))
    assert r.returncode == 2 and "holds no parity run" in r.stderr


def test_merged_folder_is_a_whole_run_in_suite_order(tmp_path):
    ids = [*stored_run(tmp_path / "s2", shard=(2, 2)), *stored_run(tmp_path / "s1", shard=(1, 2))]
    for shard in ("s1", "s2"):
        for case_id in _ids(tmp_path / shard):
            path = arrays_path(tmp_path / shard, case_id)
            path.parent.mkdir(exist_ok=True)
            np.savez(path, out=np.full(3, len(case_id)))
    r = parity("merge", str(tmp_path / "out"), str(tmp_path / "s2"), str(tmp_path / "s1"))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    merged = _ids(out)
    assert sorted(merged) == sorted(ids)
    assert merged == [c.id for c in generate.cases_for("standard", "f32-inside")]
    run = json.loads((out / "run.json").read_text())
    assert run["shard"] == [1, 1] and run["keyword"] == "f32-inside" and run["versions"] == {"torch": "2.14.1"}
    assert [c["id"] for c in json.loads((out / "parity.json").read_text())["cases"]] == merged
    for case_id in merged:
        np.testing.assert_array_equal(np.load(arrays_path(out, case_id))["out"], np.full(3, len(case_id)))
    base = tmp_path / "baseline.json"
    assert parity("baseline", "update", str(out), "--out", str(base)).returncode == 0


def _ids(folder: Path) -> list[str]:
    return [json.loads(line)["case"] for line in (folder / "results.jsonl").read_text().splitlines()]
