"""parity repro: a standalone script (no parity import) and a bug-report body for one case."""
import ast
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from parity import generate, reference, repro
from parity.errors import UsageError
from parity.model import Attrs, Case, Comparison, Verdict
from tests.test_cli import parity

SEED = "roi_align[aligned=0,sr=2,out=3x3,s=0.25]-f32-seed-note"
# Runs a script with parity made unimportable, so that a stray import fails loudly.
BLOCK_PARITY = "import runpy, sys; sys.modules['parity'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def test_script_runs_standalone_and_prints_the_differences(tmp_path):
    r = parity("repro", SEED, "--suite", "seed", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 0, r.stdout + r.stderr
    script = tmp_path / f"{repro.short_name(SEED)}.py"
    assert _imports(script.read_text()) <= {"importlib", "json", "math", "os", "platform", "sys", "numpy", "torch",
                                            "torchvision", "mindspore"}
    found = tmp_path / "found.json"
    out = subprocess.run([sys.executable, "-c", BLOCK_PARITY, str(script), "--json", str(found)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == SEED and "torchvision" in lines[1] and "mindspore 2." in lines[1]
    diffs = {ln.split(":")[0]: float(ln.split(": ")[1].split()[0]) for ln in lines if ln.startswith("max abs diff")}
    assert set(diffs) == {
        "max abs diff torchvision vs reference (torchvision aligned=False)",
        "max abs diff mindspore vs reference (mindspore roi_end_mode=0)",
        "max abs diff mindspore vs torchvision",
    }
    assert max(diffs.values()) < 1e-5  # the migration note's example agrees everywhere

    case = generate.cases_for("seed")[0]
    md = repro.markdown(case, script.read_text(), repro.Ran(json.loads(found.read_text()), out.stdout, ""), None)
    for text in ("## Environment", "- torch: 2.", "- mindspore: 2.", "torchvision.ops.roi_align(features, rois, output_size=(3, 3)",
                 "mindspore.ops.ROIAlign(pooled_height=3, pooled_width=3, spatial_scale=0.25, sample_num=2, roi_end_mode=0)",
                 "features: float32 [1, 1, 2, 2]", "| mindspore vs torchvision |", lines[-1], f"python {script.name}"):
        assert text in md, text
    assert script.read_text().strip() in md  # the script travels with the report


@pytest.mark.slow
def test_repro_command_runs_the_script_for_the_report(tmp_path):
    r = parity("repro", SEED, "--suite", "seed", "--out", str(tmp_path))
    assert r.returncode == 0 and "did not run" not in r.stdout, r.stdout + r.stderr
    md = (tmp_path / f"{repro.short_name(SEED)}.md").read_text()
    assert "- mindspore: 2." in md and "| torchvision vs reference (torchvision aligned=False) |" in md


def _script_namespace(case: Case, folder: Path) -> dict:
    path = folder / f"{repro.short_name(case.id)}.py"
    path.write_text(repro.script(case))
    return runpy.run_path(str(path))  # defines the inputs and functions; runs no framework


def _variety() -> list[Case]:
    """Cases covering every convention, adaptive sampling, declared variants, dtypes and geometries."""
    cases = generate.cases_for("standard")
    picked = cases[::23] + [c for c in cases if "ported-with-defaults" in c.id][:2]
    picked += [c for c in cases if "sr=0" in c.id and "aligned=1" in c.id and "subpixel" in c.id][:1]
    return picked


@pytest.mark.parametrize("case", _variety(), ids=lambda c: c.id)
def test_script_reference_is_parity_reference(case, tmp_path):
    ns = _script_namespace(case, tmp_path)
    assert ns["FEATURES"].dtype == case.features.dtype
    np.testing.assert_array_equal(ns["FEATURES"], case.features)
    np.testing.assert_array_equal(ns["ROIS"], case.rois)
    spec = {"output_size": case.attrs.output_size, "spatial_scale": case.attrs.spatial_scale}
    for semantics in (*ns["DOCUMENTED"].values(), *ns["DECLARED"].values()):
        conv = reference.Convention(semantics["convention"], semantics["offset"], semantics["end_pad"], semantics["min_size"],
                                    "", semantics["grid"], semantics["empty_nan"])
        want = reference.roi_align(case.features, case.rois, case.attrs.output_size, case.attrs.spatial_scale,
                                   semantics["sampling_ratio"], conv)
        got = ns["reference"](ns["FEATURES"], ns["ROIS"], **spec, **semantics)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=semantics["convention"])


def test_declared_variants_are_in_the_script(tmp_path):
    case = next(c for c in generate.cases_for("standard") if "sr=0" in c.id and "-f32-" in c.id)
    ns = _script_namespace(case, tmp_path)
    assert ns["MINDSPORE"]["sample_num"] == 0
    assert ns["DECLARED"]["mindspore"]["grid"] == "floor"  # mindspore-adaptive-sampling
    assert "mindspore-adaptive-sampling" in ns["DECLARED"]["mindspore"]["divergence"]


def test_array_literals_round_trip_bit_for_bit():
    for a in (np.array([[1.5, np.nan], [-np.inf, 1e-45]], np.float32), np.float16([0.1, 65504, -0.0]),
              np.random.default_rng(0).standard_normal((2, 3, 4, 5))):
        text = repro.literal(a)
        back = np.array(eval(text, {"nan": np.nan, "inf": np.inf}), a.dtype)
        assert back.tobytes() == a.tobytes()


def test_report_uses_a_stored_run_without_running_the_script(tmp_path):
    case = generate.cases_for("seed")[0]
    stored = repro.Stored({"torch": "9.9"}, "some machine", (
        Comparison(case.id, "mindspore", "torchvision", Verdict.MISMATCH, None, None, "Mismatched elements: 2 / 9"),
    ))
    md = repro.markdown(case, repro.script(case), repro.Ran(None, "", "--no-run"), stored)
    assert "- torch: 9.9" in md and "- machine: some machine" in md
    assert "| mindspore vs torchvision | MISMATCH | Mismatched elements: 2 / 9 |" in md
    assert "Unexpected in the stored run: mindspore vs torchvision MISMATCH" in md
    assert "(not run here: --no-run)" in md


def test_bad_requests_are_usage_errors(tmp_path):
    big = Case("big", "standard", Attrs((2, 2)), np.zeros((1, 1, 400, 400), np.float32), np.zeros((1, 5), np.float32))
    with pytest.raises(UsageError, match="160005 input elements"):
        repro.script(big)
    r = parity("repro", SEED.replace("sr=2", "sr=3"), "--suite", "seed", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 2 and f"did you mean {SEED}" in r.stderr and "Traceback" not in r.stderr
    r = parity("repro", SEED, "--suite", "nope", "--out", str(tmp_path))
    assert r.returncode == 2 and "unknown suite" in r.stderr
    r = parity("repro", SEED, "--suite", "seed", "--out", str(tmp_path), "--no-run", "--results", str(tmp_path / "x"))
    assert r.returncode == 2 and "holds no parity run" in r.stderr
    r = parity("repro", SEED, "--suite", "seed", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 0 and json.dumps(SEED)[1:-1] in (tmp_path / f"{repro.short_name(SEED)}.py").read_text()
