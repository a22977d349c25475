"""The CI gate: parity baseline update and parity gate, over stored runs written here directly."""
import json
from pathlib import Path

import pytest

from parity.engine import gate, results
from parity.ops.roi_align import generate
from parity.engine.model import Comparison, Verdict
from parity.engine.results import CaseRecord, RunMeta
from tests.test_cli import parity

RUNNERS = ("torchvision", "mindspore", "reference")
PAIRS = (("torchvision", "reference[torchvision aligned=False, sampling_ratio=2]"),
         ("mindspore", "reference[mindspore roi_end_mode=0, sampling_ratio=2]"),
         ("mindspore", "torchvision"))


def record(case_id: str, *verdicts: str) -> CaseRecord:
    verdicts = verdicts or ("PASS",) * len(PAIRS)
    comps = tuple(
        Comparison(case_id, a, e, Verdict(v), None, None, f"{a} message", "some-divergence" if v == "EXPECTED_DIVERGENCE" else None)
        for (a, e), v in zip(PAIRS, verdicts)
    )
    return CaseRecord(case_id, {r: "ok" for r in RUNNERS}, comps)


def stored_run(folder: Path, shard: tuple[int, int] = (1, 1), changes: dict | None = None, drop: int = 0) -> list[str]:
    """A results folder of ``-k f32-inside`` as parity run writes it; ``changes``: case index -> verdicts."""
    meta = RunMeta("standard", "f32-inside", RUNNERS, shard)
    ids = [c.id for c in meta.select(generate.cases_for(meta.suite, meta.keyword))]
    folder.mkdir(parents=True)
    results.write_meta(folder, meta, {"torch": "2.14.1"}, "test machine")
    with open(folder / "results.jsonl", "w") as log:
        for n, case_id in enumerate(ids[: len(ids) - drop]):
            results.append(log, record(case_id, *(changes or {}).get(n, ())))
    return ids


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    stored_run(tmp_path / "base", changes={2: ("PASS", "EXPECTED_DIVERGENCE", "MISMATCH")})
    path = tmp_path / "baseline.json"
    r = parity("baseline", "update", str(tmp_path / "base"), "--out", str(path))
    assert r.returncode == 0, r.stderr
    return path


def test_gate_passes_against_a_baseline_of_the_same_results(tmp_path, baseline):
    doc = json.loads(baseline.read_text())
    assert (doc["suite"], doc["keyword"], doc["runners"]) == ("standard", "f32-inside", list(RUNNERS))
    third = list(doc["cases"].values())[2]
    assert third["mindspore vs reference"] == {"verdict": "EXPECTED_DIVERGENCE", "divergence": "some-divergence"}
    assert third["mindspore vs torchvision"] == {"verdict": "MISMATCH"}  # a known failure, accepted
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "base"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "gate passed" in r.stdout and "0 regressions" in r.stdout


def test_a_new_mismatch_fails_the_gate_and_names_the_case(tmp_path, baseline):
    ids = stored_run(tmp_path / "run", changes={2: ("PASS", "EXPECTED_DIVERGENCE", "MISMATCH")})
    log = tmp_path / "run" / "results.jsonl"
    lines = log.read_text().splitlines()
    d = json.loads(lines[5])
    d["comparisons"][1]["verdict"] = "MISMATCH"
    lines[5] = json.dumps(d)
    log.write_text("\n".join(lines) + "\n")
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "run"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"REGRESSION MISMATCH {ids[5]} mindspore vs reference (was PASS)" in r.stdout
    assert "gate FAILED" in r.stdout and "1 regressions" in r.stdout


def test_an_expected_divergence_explained_by_another_divergence_fails_the_gate(tmp_path, baseline):
    """Same verdict, other reason: the baseline said which divergence explains the difference."""
    ids = stored_run(tmp_path / "run", changes={2: ("PASS", "EXPECTED_DIVERGENCE", "MISMATCH")})
    log = tmp_path / "run" / "results.jsonl"
    lines = log.read_text().splitlines()
    d = json.loads(lines[2])
    d["comparisons"][1]["divergence"] = "other-divergence"
    lines[2] = json.dumps(d)
    log.write_text("\n".join(lines) + "\n")
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "run"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert (f"EXPLANATION CHANGED EXPECTED_DIVERGENCE {ids[2]} mindspore vs reference (was EXPECTED_DIVERGENCE): "
            "explained by other-divergence, the baseline by some-divergence") in r.stdout
    assert "gate FAILED" in r.stdout and "1 explained differently" in r.stdout
    r = parity("baseline", "update", str(tmp_path / "run"), "--out", str(baseline))  # accepting it
    assert r.returncode == 0, r.stderr
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "run"))
    assert r.returncode == 0 and "0 explained differently" in r.stdout, r.stdout


def test_explanations_compare_as_sets_of_divergences():
    meta = RunMeta("standard", None, RUNNERS)
    base = gate.Baseline("standard", None, RUNNERS, {"a": {"mindspore vs torchvision": gate.Entry(Verdict.EXPECTED_DIVERGENCE, "d1, d2")}})

    def run(divergence: str | None, verdict: Verdict = Verdict.EXPECTED_DIVERGENCE) -> dict[str, CaseRecord]:
        return {"a": CaseRecord("a", {}, (Comparison("a", "mindspore", "torchvision", verdict, None, None, "m", divergence),))}

    assert not gate.check(base, meta, run("d2, d1")).failed  # the order of the list is no change
    for other in ("d1", "d1, d2, d3", None):
        found = gate.check(base, meta, run(other))
        assert found.failed and [(c.before_divergence, c.after_divergence) for c in found.explanations] == [("d1, d2", other)]
    found = gate.check(base, meta, run(None, Verdict.PASS))  # no longer a difference at all: changed, not failing
    assert not found.failed and [c.after for c in found.changed] == [Verdict.PASS]


def test_a_disappeared_case_fails_the_gate(tmp_path, baseline):
    ids = stored_run(tmp_path / "run", changes={2: ("PASS", "EXPECTED_DIVERGENCE", "MISMATCH")}, drop=1)
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "run"))
    assert r.returncode == 1
    assert f"DISAPPEARED {ids[-1]}: case is gone" in r.stdout


def test_fixing_a_known_failure_is_reported_as_improved(tmp_path, baseline):
    stored_run(tmp_path / "run")
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "run"))
    assert r.returncode == 0, r.stdout
    assert "improved PASS" in r.stdout and "1 improved" in r.stdout
    assert "changed PASS" in r.stdout  # EXPECTED_DIVERGENCE -> PASS: shown, not failing


def test_a_shard_is_gated_against_its_own_slice(tmp_path, baseline):
    stored_run(tmp_path / "shard", shard=(2, 3), changes={0: ("PASS", "PASS", "PASS")})
    r = parity("gate", "--baseline", str(baseline), str(tmp_path / "shard"))
    assert r.returncode == 0, r.stdout
    assert "0 disappeared" in r.stdout


def test_gate_rules():
    meta = RunMeta("standard", None, RUNNERS)
    base = gate.Baseline("standard", None, RUNNERS, {
        "a": {"mindspore vs reference": gate.Entry(Verdict.EXPECTED_DIVERGENCE, "d")},
        "b": {"mindspore vs reference": gate.Entry(Verdict.MISMATCH), "mindspore vs torchvision": gate.Entry(Verdict.PASS)},
    })
    now = {
        "a": CaseRecord("a", {}, (Comparison("a", "mindspore", "reference[x]", Verdict.DIVERGENCE_CHANGED, None, None, "m", "d"),)),
        "b": CaseRecord("b", {}, (Comparison("b", "mindspore", "reference[x]", Verdict.ERROR, None, None, "raised"),)),
        "c": CaseRecord("c", {}, (Comparison("c", "mindspore", "reference[x]", Verdict.PASS, None, None, "ok"),)),
    }
    found = gate.check(base, meta, now)
    assert [(c.case_id, c.after) for c in found.regressions] == [("a", Verdict.DIVERGENCE_CHANGED), ("b", Verdict.ERROR)]
    assert [(c.case_id, c.pair) for c in found.disappeared] == [("b", "mindspore vs torchvision")]
    assert [c.case_id for c in found.new] == ["c"] and found.failed
    same = {"b": CaseRecord("b", {}, (Comparison("b", "mindspore", "reference[x]", Verdict.MISMATCH, None, None, "m"),
                                      Comparison("b", "mindspore", "torchvision", Verdict.PASS, None, None, "m")))}
    assert not gate.check(gate.Baseline("standard", None, RUNNERS, {"b": base.cases["b"]}), meta, same).failed


def test_usage_errors_are_one_line_with_exit_2(tmp_path):
    stored_run(tmp_path / "partial", drop=2)
    r = parity("baseline", "update", str(tmp_path / "partial"), "--out", str(tmp_path / "b.json"))
    assert r.returncode == 2 and "holds 9 of 11 cases" in r.stderr and "parity run --resume" in r.stderr
    stored_run(tmp_path / "shard", shard=(1, 2))
    r = parity("baseline", "update", str(tmp_path / "shard"), "--out", str(tmp_path / "b.json"))
    assert r.returncode == 2 and "shard 1/2 only" in r.stderr
    r = parity("gate", "--baseline", str(tmp_path / "missing.json"), str(tmp_path / "shard"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "bad.json").write_text("{")
    r = parity("gate", "--baseline", str(tmp_path / "bad.json"), str(tmp_path / "shard"))
    assert r.returncode == 2 and "is corrupt" in r.stderr
    r = parity("gate", "--baseline", str(tmp_path / "bad.json"), str(tmp_path / "nothing"))
    assert r.returncode == 2 and "holds no parity run" in r.stderr
