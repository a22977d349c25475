"""The invalid suite end to end: a framework that segfaults is CRASH, and the run goes on."""
import json

from tests.test_cli import parity


def test_a_segfault_is_recorded_and_every_other_case_finishes(tmp_path):
    r = parity("run", "--suite", "invalid", "-k", "batch-index", "--out", str(tmp_path), "--timeout", "60")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]  # every reaction is declared
    doc = json.loads((tmp_path / "parity.json").read_text())
    ids = {c["id"] for c in doc["cases"]}
    assert len(ids) == 5 and "roi_align[invalid]-batch-index-huge" in ids
    matrix = {row["case"]: row for row in doc["robustness"]}
    huge = matrix["roi_align[invalid]-batch-index-huge"]
    assert huge["behaviours"]["torchvision"].startswith("crash") and "SIGSEGV" in huge["behaviours"]["torchvision"]
    assert huge["behaviours"]["mindspore"].startswith("raises")
    assert huge["dangerous"] == ["torchvision"]
    out_of_range = matrix["roi_align[invalid]-batch-index-out-of-range"]
    assert out_of_range["dangerous"] == ["torchvision"]  # silent output where MindSpore raises
    assert "robustness" in r.stdout and "SIGSEGV" in r.stdout
