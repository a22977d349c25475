"""parity repro: a standalone script (no parity import) and a bug-report body for one case."""
import ast
import dataclasses
import inspect
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from parity.ops.roi_align import generate, reference, repro
from parity.ops.roi_align.divergence import applicable, documented_semantics, predicted_semantics
from parity.engine import standalone
from parity.engine.errors import InvalidInput, UsageError
from parity.ops.roi_align.mapping import Semantics
from parity.engine.model import Case, Comparison, Verdict
from parity.ops.roi_align.attrs import Attrs
from tests.test_cli import parity

SEED = "roi_align[aligned=0,sr=2,out=3x3,s=0.25]-f32-seed-note"
# Runs a script with parity made unimportable, so that a stray import fails loudly.
BLOCK_PARITY = "import runpy, sys; sys.modules['parity'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def script_imports(source: str) -> set[str]:
    """The top-level packages a script imports (a repro script may import numpy and the frameworks only)."""
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
    script = tmp_path / f"{standalone.short_name(SEED)}.py"
    assert script_imports(script.read_text()) <= {"importlib", "json", "math", "os", "platform", "sys", "numpy", "torch",
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
    md = repro.markdown(case, script.read_text(), standalone.Ran(json.loads(found.read_text()), out.stdout, ""), None)
    for text in ("## Environment", "- torch: 2.", "- mindspore: 2.", "torchvision.ops.roi_align(features, rois, output_size=(3, 3)",
                 "mindspore.ops.ROIAlign(pooled_height=3, pooled_width=3, spatial_scale=0.25, sample_num=2, roi_end_mode=0)",
                 "features: float32 [1, 1, 2, 2]", "| mindspore vs torchvision |", lines[-1], f"python {script.name}"):
        assert text in md, text
    assert script.read_text().strip() in md  # the script travels with the report


@pytest.mark.slow
def test_repro_command_runs_the_script_for_the_report(tmp_path):
    r = parity("repro", SEED, "--suite", "seed", "--out", str(tmp_path))
    assert r.returncode == 0 and "did not run" not in r.stdout, r.stdout + r.stderr
    md = (tmp_path / f"{standalone.short_name(SEED)}.md").read_text()
    assert "- mindspore: 2." in md and "| torchvision vs reference (torchvision aligned=False) |" in md


def _script_namespace(case: Case, folder: Path | None = None) -> dict:
    """The names the shipped script defines (inputs, semantics, kernel), without running a framework."""
    text = repro.script(case)
    if folder is None:
        namespace: dict = {"__name__": "repro_script"}
        exec(compile(text, standalone.short_name(case.id), "exec"), namespace)  # numpy only: main() does not run
        return namespace
    path = folder / f"{standalone.short_name(case.id)}.py"
    path.write_text(text)
    return runpy.run_path(str(path))


def _parity_reference(case: Case, sem: Semantics) -> np.ndarray | None:
    """What parity's judge computes for ``sem`` (None where the reference rejects the input)."""
    try:
        return reference.roi_align(case.features, case.rois, case.attrs.output_size, case.attrs.spatial_scale,
                                   sem.sampling_ratio, sem.convention)
    except InvalidInput:
        return None


def _script_problems(case: Case) -> list[str]:
    """Where the shipped script's documented / declared references depart from parity's own
    (documented_semantics / predicted_semantics evaluated by parity.ops.roi_align.reference.roi_align)."""
    ns = _script_namespace(case)
    spec = {"output_size": case.attrs.output_size, "spatial_scale": case.attrs.spatial_scale}
    problems = []
    for fw in repro.FRAMEWORKS:
        documented, predicted = documented_semantics(fw, case.attrs, case.port), predicted_semantics(fw, case)
        declared = ns["DECLARED"].get(fw)
        if (predicted.key != documented.key) != (declared is not None):
            problems.append(f"{fw}: declared semantics {'missing' if declared is None else 'not predicted'}")
            continue
        pairs = [("documented", documented, ns["DOCUMENTED"][fw])]
        if declared is not None:
            pairs.append(("declared", predicted, declared["semantics"]))
        for what, sem, fields in pairs:
            if sem.convention.accumulate == "float16":  # a bound, not an array: the script must say so
                try:
                    ns["reference"](ns["FEATURES"], ns["ROIS"], **spec, **fields)
                    problems.append(f"{fw} {what}: the script evaluates a float16 serial-sum bound as one array")
                except ns["NotEvaluated"]:
                    pass
                continue
            want = _parity_reference(case, sem)
            try:
                got = ns["reference"](ns["FEATURES"], ns["ROIS"], **spec, **fields)
            except ns["Undefined"] as exc:
                if want is not None:
                    problems.append(f"{fw} {what}: the script finds the input undefined ({exc}), parity does not")
                continue
            if want is None:
                problems.append(f"{fw} {what}: parity rejects the input, the script computes numbers")
                continue
            try:
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
            except AssertionError as exc:
                worst = np.nanmax(np.abs(got - want)) if got.shape == want.shape else "shape"
                problems.append(f"{fw} {what} ({sem.key}): max |script - parity| {worst}; {str(exc).splitlines()[3]}")
    return problems


def _variety() -> list[Case]:
    """Cases covering every convention, adaptive sampling, declared variants, dtypes and geometries."""
    cases = generate.cases_for("standard")
    picked = cases[::23] + [c for c in cases if "ported-with-defaults" in c.id][:2]
    picked += [c for c in cases if "sr=0" in c.id and "aligned=1" in c.id and "subpixel" in c.id][:1]
    return picked


def _divergence_cases(suite: str) -> list[Case]:
    return [c for c in generate.cases_for(suite) if applicable(c)]


FRACTIONAL_BATCH = [c for c in _divergence_cases("standard") if "fractional-batch" in c.id]


@pytest.mark.parametrize("case", [*_variety(), *FRACTIONAL_BATCH], ids=lambda c: c.id)
def test_script_reference_is_parity_reference(case):
    assert _script_problems(case) == []


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["standard", "edge"])
def test_script_reference_is_parity_reference_on_every_divergence_case(suite):
    """Every case a declared divergence covers: the script states the evidence exactly as parity judges it."""
    cases = _divergence_cases(suite)
    assert len(cases) > 50
    problems = [f"{c.id}: {p}" for c in cases for p in _script_problems(c)]
    assert problems == [], "\n".join(problems[:20]) + f"\n({len(problems)} in all)"


def test_script_carries_every_convention_field():
    """A Convention field the script leaves out (or its kernel does not take) fails here, not in a bug report."""
    ns = _script_namespace(generate.cases_for("seed")[0])
    fields = {f.name for f in dataclasses.fields(reference.Convention)} - {"name", "documented_by"}
    for semantics in ns["DOCUMENTED"].values():
        assert set(semantics) == fields | {"convention", "sampling_ratio"}
    kernel = set(inspect.signature(ns["reference"]).parameters)
    assert kernel == fields | {"convention", "sampling_ratio", "features", "rois", "output_size", "spatial_scale"}


#: A value of each Convention field other than torchvision aligned=False's, and a sampling ratio that lets it act.
_FIELD_VARIANTS = {
    "offset": (0.5, 2), "end_pad": (1.0, 2), "min_size": (None, -1), "adaptive_grid": ("floor", -1),
    "empty_grid_nan": (True, -1), "batch_index": ("round", 2), "outside_reads_origin": (True, 2),
    "sum_limit": (3.0, 2), "scale_dtype": ("float32", 2), "skip_x_near_zero": (0.5, 2),
}


@pytest.mark.parametrize("field", sorted(_FIELD_VARIANTS))
def test_script_kernel_follows_each_convention_field(field):
    """Each rule, alone, changes the result on these inputs, and the script's kernel follows parity's."""
    rng = np.random.default_rng(11)
    features = rng.uniform(0.5, 2.0, (2, 2, 6, 7))
    features[1, :, 0, 0] = np.nan  # reached only by a kernel whose outside samples read pixel (0, 0)
    rois = np.array([[0.6, 0.3, 0.2, 4.1, 5.2], [1.0, -3.0, 1.0, 2.0, 3.0], [0.4, 2.0, 2.0, 2.3, 2.4],
                     [1.2, 5.0, 4.0, 9.0, 8.0], [0.0, 10.0, 0.0, 17.0, 9.0], [0.0, 3.0, 3.0, 3.0, 3.0],
                     [0.0, 0.1, 1.0, -0.2, 4.0]])
    case = Case("fields", "test", Attrs((2, 3), spatial_scale=0.7), {"features": features, "rois": rois})
    ns = _script_namespace(case)
    value, sampling_ratio = _FIELD_VARIANTS[field]
    # an empty grid needs a roi of size 0, which only an unclamped window keeps
    base = reference.TORCHVISION_ALIGNED if field == "empty_grid_nan" else reference.TORCHVISION_UNALIGNED
    results = []
    for conv in (base, dataclasses.replace(base, name=f"{base.name} [{field}={value}]", **{field: value})):
        sem = Semantics(conv, sampling_ratio)
        want = reference.roi_align(features, rois, case.attrs.output_size, 0.7, sampling_ratio, conv)
        got = ns["reference"](features, rois, (2, 3), 0.7, **repro.semantics_fields(sem))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=conv.name)
        results.append(want)
    assert not np.array_equal(results[0], results[1], equal_nan=True), f"{field}={value} changes nothing here"


def test_declared_variants_are_in_the_script(tmp_path):
    case = next(c for c in generate.cases_for("standard") if "sr=0" in c.id and "-f32-" in c.id)
    ns = _script_namespace(case, tmp_path)
    assert ns["MINDSPORE"]["sample_num"] == 0
    assert ns["DECLARED"]["mindspore"]["semantics"]["adaptive_grid"] == "floor"  # mindspore-adaptive-sampling
    assert "mindspore-adaptive-sampling" in ns["DECLARED"]["mindspore"]["divergence"]
    fractional = FRACTIONAL_BATCH[0]
    assert _script_namespace(fractional)["DECLARED"]["mindspore"]["semantics"]["batch_index"] == "round"


def test_case_id_never_becomes_code(tmp_path):
    """A case id (a stranger's data, from fixtures) lands in the script as a string literal only."""
    hostile = 'x"""\nimport os; os.system("echo owned")\n"""\'\\'
    case = dataclasses.replace(generate.cases_for("seed")[0], id=hostile, suite='s"""\nraise SystemExit(3)')
    ns = _script_namespace(case, tmp_path)
    assert ns["CASE_ID"] == hostile and ns["SUITE"] == case.suite


def test_array_literals_round_trip_bit_for_bit():
    for a in (np.array([[1.5, np.nan], [-np.inf, 1e-45]], np.float32), np.float16([0.1, 65504, -0.0]),
              np.random.default_rng(0).standard_normal((2, 3, 4, 5))):
        text = standalone.literal(a)
        back = np.array(eval(text, {"nan": np.nan, "inf": np.inf}), a.dtype)
        assert back.tobytes() == a.tobytes()


def test_report_uses_a_stored_run_without_running_the_script(tmp_path):
    case = generate.cases_for("seed")[0]
    stored = standalone.Stored({"torch": "9.9"}, "some machine", (
        Comparison(case.id, "mindspore", "torchvision", Verdict.MISMATCH, None, None, "Mismatched elements: 2 / 9"),
    ))
    md = repro.markdown(case, repro.script(case), standalone.Ran(None, "", "--no-run"), stored)
    assert "- torch: 9.9" in md and "- machine: some machine" in md
    assert "| mindspore vs torchvision | MISMATCH | Mismatched elements: 2 / 9 |" in md
    assert "Unexpected in the stored run: mindspore vs torchvision MISMATCH" in md
    assert "(not run here: --no-run)" in md


def test_bad_requests_are_usage_errors(tmp_path):
    big = Case("big", "standard", Attrs((2, 2)), {"features": np.zeros((1, 1, 400, 400), np.float32), "rois": np.zeros((1, 5), np.float32)})
    with pytest.raises(UsageError, match="160005 input elements"):
        repro.script(big)
    r = parity("repro", SEED.replace("sr=2", "sr=3"), "--suite", "seed", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 2 and f"did you mean {SEED}" in r.stderr and "Traceback" not in r.stderr
    r = parity("repro", SEED, "--suite", "nope", "--out", str(tmp_path))
    assert r.returncode == 2 and "unknown suite" in r.stderr
    r = parity("repro", SEED, "--suite", "seed", "--out", str(tmp_path), "--no-run", "--results", str(tmp_path / "x"))
    assert r.returncode == 2 and "holds no parity run" in r.stderr
    r = parity("repro", SEED, "--suite", "seed", "--out", str(tmp_path), "--no-run")
    assert r.returncode == 0 and json.dumps(SEED)[1:-1] in (tmp_path / f"{standalone.short_name(SEED)}.py").read_text()


def _in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``parity ARGS`` run from ``folder`` (relative paths are a user's own), as a user pastes it."""
    import os

    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "parity.shells.cli", *args], capture_output=True, text=True, cwd=folder,
                          env=env, timeout=600)


def test_printed_repro_command_of_a_fixture_run_finds_its_case(tmp_path):
    import html
    import re
    import shlex

    from parity.ops.roi_align import fixtures

    case_id = "roi_align[aligned=1,sr=-1,out=1x1,s=0.5]-f32-mixed"
    fixtures.save([c for c in generate.cases_for("standard") if c.id == case_id], tmp_path / "my fixtures", "standard")
    first = _in(tmp_path, "run", "--fixtures", "my fixtures", "--out", "first")
    assert first.returncode == 0, first.stdout + first.stderr
    page = (tmp_path / "first" / "parity.html").read_text()
    printed = {html.unescape(m) for m in re.findall(r"(parity run --[^<]*)", page)}
    assert printed, "an EXPECTED_DIVERGENCE panel carries a repro command"
    for command in printed:
        words = shlex.split(command)
        assert words[2:4] == ["--fixtures", "my fixtures"] and words[words.index("-k") + 1] == case_id
        again = _in(tmp_path, *words[1:], "--out", "again")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "1 cases" in again.stdout
        [case] = json.loads((tmp_path / "again" / "parity.json").read_text())["cases"]
        assert case["id"] == case_id
    listed = _in(tmp_path, "cases", "--fixtures", "my fixtures")
    assert listed.stdout.split() == [case_id]
    script = _in(tmp_path, "repro", case_id, "--fixtures", "my fixtures", "--out", "repro", "--no-run")
    assert script.returncode == 0, script.stderr
    assert case_id in (tmp_path / "repro" / (standalone.short_name(case_id) + ".py")).read_text()
    missing = _in(tmp_path, "repro", "no-such-case", "--fixtures", "my fixtures", "--no-run")
    assert missing.returncode == 2 and "fixture folder my fixtures" in missing.stderr


def test_an_empty_input_is_refused_with_one_line_not_written_flat():
    # An empty literal reads back as shape (0,): the script would call the op on other inputs than the case's.
    case = generate.cases_for("seed")[0]
    empty = case.with_inputs(rois=np.zeros((0, 5), case.rois.dtype))
    with pytest.raises(UsageError, match="empty features or rois"):
        repro.script(empty)
    assert np.array(eval(standalone.literal(empty.rois))).shape == (0,)  # why: the flat read-back


def test_a_framework_the_script_could_not_call_is_compared_with_nothing(tmp_path):
    """Without torch or MindSpore importable, the script says it could not call them, never that
    they raised, and compares nothing of theirs."""
    case = generate.cases_for("seed")[0]
    script = tmp_path / "repro.py"
    script.write_text(repro.script(case))
    blocked = "import runpy, sys; sys.modules.update(torch=None, mindspore=None); sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    found = tmp_path / "found.json"
    r = subprocess.run([sys.executable, "-c", blocked, str(script), "--json", str(found)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(found.read_text())
    assert set(got["not_run"]) == {"torchvision", "mindspore"} and not got["errors"] and got["comparisons"] == []
    assert "torchvision: torchvision was not called: ModuleNotFoundError" in r.stdout and "raised" not in r.stdout
