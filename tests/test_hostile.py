"""Hostile inputs, built here at test time: each gets one line and exit 2, writes nothing outside
--out, and costs the parity process under 300 MB of peak RSS (measured per input in a fresh
process with getrusage(RUSAGE_CHILDREN))."""
import copy
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from parity.ops.roi_align import fixtures, generate
from tests.test_cli import ROOT

RSS_LIMIT_KB = 300 * 1024
_MEASURE = """
import json, os, resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=300)
print(json.dumps({"rc": r.returncode, "stderr": r.stderr, "stdout": r.stdout,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _measured(*args: str) -> dict:
    """Run ``parity ARGS`` in a fresh process and return its exit status, output and peak RSS."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "parity.shells.cli", *args],
                         capture_output=True, text=True, cwd=ROOT, timeout=320)
    return json.loads(out.stdout)


def _golden(folder: Path) -> dict:
    """A small valid fixture folder (three golden cases); returns its manifest."""
    cases = generate.cases_for("golden")[:3]
    fixtures.save(cases, folder, "golden")
    return json.loads((folder / "manifest.json").read_text())


def _write_manifest(folder: Path, manifest) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest) if not isinstance(manifest, str) else manifest)


def _edit(change: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    """A hostile input that is the valid folder with one manifest entry changed."""
    def build(folder: Path, outside: Path) -> None:
        manifest = _golden(folder)
        change(manifest["cases"][0])
        _write_manifest(folder, manifest)
    return build


def _set(path: str, value) -> Callable[[Path, Path], None]:
    def change(entry: dict) -> None:
        *parents, last = path.split(".")
        for p in parents:
            entry = entry[p]
        entry[last] = value
    return _edit(change)


def _drop(field: str) -> Callable[[Path, Path], None]:
    return _edit(lambda entry: entry.pop(field))


def _npy(a: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _first_file(folder: Path) -> tuple[dict, Path]:
    manifest = _golden(folder)
    return manifest, folder / manifest["cases"][0]["file"]


def _bomb_behind_a_small_manifest(folder: Path, outside: Path) -> None:
    """1 GiB of zeros (about 1 MB deflated) where the manifest declares a 1x1x2x2 map."""
    manifest, path = _first_file(folder)
    with np.load(path) as z:
        rois = z["rois"]
    big = np.lib.format.header_data_from_array_1_0(np.zeros((1,), np.float32))
    big["shape"] = (1, 1, 16384, 16384)
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, big)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("features.npy", "w", force_zip64=True) as m:
            m.write(head.getvalue())
            zero = bytes(1 << 20)
            for _ in range(1024):
                m.write(zero)
        zf.writestr("rois.npy", _npy(rois))


def _bomb_declared_in_the_manifest(folder: Path, outside: Path) -> None:
    """A manifest that declares 4 GiB of features itself (and a tiny file)."""
    manifest = _golden(folder)
    manifest["cases"][0]["shapes"]["features"] = [16, 256, 512, 512]
    _write_manifest(folder, manifest)


def _pickled(folder: Path, outside: Path) -> None:
    manifest, path = _first_file(folder)
    with np.load(path) as z:
        rois = z["rois"]
    evil = np.array([{"__reduce__": "os.system"}], dtype=object)
    _zip(path, {"features.npy": _npy(evil, allow_pickle=True), "rois.npy": _npy(rois)})
    manifest["cases"][0]["dtypes"]["features"] = "float32"
    _write_manifest(folder, manifest)


def _undeclared_member(folder: Path, outside: Path) -> None:
    manifest, path = _first_file(folder)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../../evil.py", b"print('pwned')")


def _linked_fixture(folder: Path, outside: Path) -> None:
    manifest, path = _first_file(folder)
    (outside / "real.npz").write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside / "real.npz")


def _linked_manifest(folder: Path, outside: Path) -> None:
    _golden(folder)
    (outside / "manifest.json").write_text((folder / "manifest.json").read_text())
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").symlink_to(outside / "manifest.json")


def _huge_manifest(folder: Path, outside: Path) -> None:
    _golden(folder)
    with open(folder / "manifest.json", "w") as f:
        f.write('{"cases": [' + " " * (fixtures.MANIFEST_LIMIT + 10) + "]}")


def _deep_manifest(folder: Path, outside: Path) -> None:
    _golden(folder)
    _write_manifest(folder, '{"cases": ' + "[" * 100_000 + "]" * 100_000 + "}")


def _traversal(folder: Path, outside: Path) -> None:
    """``file`` pointing at a real, valid fixture one folder up: still refused."""
    manifest, path = _first_file(folder)
    (outside / "stolen.npz").write_bytes(path.read_bytes())
    manifest["cases"][0]["file"] = "../outside/stolen.npz"
    _write_manifest(folder, manifest)


def _sha(case: dict) -> None:
    case["sha256"]["features"] = hashlib.md5(b"x").hexdigest()


HOSTILE: dict[str, Callable[[Path, Path], None]] = {
    # malformed manifests: one field each
    "output-size-zero": _set("attrs.output_size", [0, 3]),
    "output-size-text": _set("attrs.output_size", "3x3"),
    "output-size-float": _set("attrs.output_size", [2.5, 3]),
    "spatial-scale-nan": _set("attrs.spatial_scale", float("nan")),
    "spatial-scale-text": _set("attrs.spatial_scale", "0.25"),
    "sampling-ratio-float": _set("attrs.sampling_ratio", 2.5),
    "aligned-text": _set("attrs.aligned", "yes"),
    "attrs-not-object": _set("attrs", [1, 2]),
    "dtype-unknown": _set("dtypes.features", "object"),
    "dtype-inconsistent": _set("dtype", "float64"),
    "port-unknown": _set("port", "magic"),
    "boxes-unknown": _set("boxes", "dict"),
    "layout-unknown": _set("layout", "diagonal"),
    "layout-missing": _drop("layout"),
    "id-missing": _drop("id"),
    "id-not-text": _set("id", 42),
    "id-with-escape": _set("id", "case\x1b[31m\nsecond line"),
    "tags-not-list": _set("tags", "a,b"),
    "shape-negative": _set("shapes.features", [1, -1, 2, 2]),
    "shape-text": _set("shapes.rois", "1x5"),
    "sha256-format": _edit(_sha),
    "unknown-field": _set("run_this", "rm -rf /"),
    "entry-not-object": _edit(lambda e: e.clear()),
    "cases-not-list": lambda folder, outside: (_golden(folder), _write_manifest(folder, {"cases": {"a": 1}})),
    "not-json": lambda folder, outside: (_golden(folder), _write_manifest(folder, "{not json")),
    "deep-nesting": _deep_manifest,
    "huge-manifest": _huge_manifest,
    # paths
    "file-traversal": _traversal,
    "file-absolute": _set("file", "/etc/passwd"),
    "file-hidden": _set("file", ".manifest.npz"),
    "linked-fixture-file": _linked_fixture,
    "linked-manifest": _linked_manifest,
    # archives
    "zip-bomb-behind-small-manifest": _bomb_behind_a_small_manifest,
    "zip-bomb-declared": _bomb_declared_in_the_manifest,
    "pickled-array": _pickled,
    "undeclared-member": _undeclared_member,
}


def _snapshot(root: Path, skip: Path) -> dict[str, tuple]:
    return {
        str(p.relative_to(root)): (p.is_symlink(), p.stat(follow_symlinks=False).st_size, p.stat(follow_symlinks=False).st_mtime_ns)
        for p in sorted(root.rglob("*")) if skip not in p.parents and p != skip
    }


def test_every_hostile_fixture_is_one_clear_refusal(tmp_path):
    """The fast check of the whole corpus, in this process: a ParityError of one line, never another error."""
    from parity.engine.errors import ParityError

    for name, build in sorted(HOSTILE.items()):
        folder, outside = tmp_path / name / "fixtures", tmp_path / name / "outside"
        folder.mkdir(parents=True)
        outside.mkdir()
        build(folder, outside)
        with pytest.raises(ParityError) as err:
            fixtures.load(folder)
        assert "\n" not in str(err.value) and "\x1b" not in str(err.value), name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_fixture_gets_one_line_and_exit_2(tmp_path, name):
    folder, outside, out = tmp_path / "fixtures", tmp_path / "outside", tmp_path / "out"
    folder.mkdir()
    outside.mkdir()
    HOSTILE[name](folder, outside)
    before = _snapshot(tmp_path, out)
    repo_before = sorted(os.listdir(ROOT))
    r = _measured("run", "--fixtures", str(folder), "--out", str(out))
    lines = r["stderr"].strip().splitlines()
    assert r["rc"] == 2, (name, r["stderr"][-2000:])
    assert len(lines) == 1 and "Traceback" not in r["stderr"], (name, r["stderr"][-2000:])
    assert "\x1b" not in r["stderr"], name
    assert str(folder) in lines[0] or str(folder / "manifest.json") in lines[0], lines[0]
    assert _snapshot(tmp_path, out) == before, name  # nothing outside --out was written
    assert sorted(os.listdir(ROOT)) == repo_before
    assert r["maxrss_kb"] < RSS_LIMIT_KB, (name, r["maxrss_kb"])


def test_each_manifest_refusal_names_the_case_and_the_field(tmp_path):
    for name, field in (("output-size-zero", "attrs.output_size"), ("spatial-scale-nan", "attrs.spatial_scale"),
                        ("sampling-ratio-float", "attrs.sampling_ratio"), ("aligned-text", "attrs.aligned"),
                        ("dtype-unknown", "dtypes.features"), ("file-traversal", "file"), ("file-absolute", "file"),
                        ("sha256-format", "sha256.features"), ("id-with-escape", "id"), ("layout-missing", "layout")):
        folder = tmp_path / name
        (tmp_path / f"{name}-outside").mkdir()
        folder.mkdir()
        HOSTILE[name](folder, tmp_path / f"{name}-outside")
        with pytest.raises(fixtures.FixtureError) as err:
            fixtures.load(folder)
        assert f"field {field} " in str(err.value) and str(folder) in str(err.value), (name, str(err.value))
        assert "case " in str(err.value)


def test_the_invalid_suite_keeps_its_bad_calls_as_fixtures(tmp_path):
    """Value rules (output_size > 0, scale > 0) are for calls meant to be valid: the invalid suite's stay."""
    cases = generate.cases_for("invalid")
    fixtures.save(cases, tmp_path, "invalid")
    assert [c.attrs for c in fixtures.load(tmp_path)] == [c.attrs for c in cases]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    bad = copy.deepcopy(manifest)
    bad["cases"][0]["attrs"]["spatial_scale"] = float("inf")
    _write_manifest(tmp_path, bad)
    with pytest.raises(fixtures.FixtureError, match="attrs.spatial_scale"):
        fixtures.load(tmp_path)
