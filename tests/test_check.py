"""``parity check`` / ``parity.check`` on a user's own arrays: verdicts from the real frameworks."""
import hashlib
import html
import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

import parity
from parity.ops.roi_align import fixtures
from parity.ops.roi_align.call_string import parse_call
from parity.engine.errors import UsageError
from parity.ops.roi_align.attrs import Attrs

from tests.test_cli import ROOT, parity as parity_cli

CALL = "roi_align(output_size=7, spatial_scale=1/16, sampling_ratio=2, aligned=True)"


def _arrays(dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """Random features and rois on an image 16 times larger than the map, as a detector's box head has."""
    rng = np.random.default_rng(16)
    features = rng.standard_normal((2, 4, 20, 24)).astype(dtype)
    k = 10
    x1, y1 = rng.uniform(0, 250, k), rng.uniform(0, 200, k)
    rois = np.stack([rng.integers(0, 2, k), x1, y1, x1 + rng.uniform(16, 120, k), y1 + rng.uniform(16, 120, k)], 1)
    return features, rois.astype(dtype)


def _verdicts(out) -> dict[tuple[str, str, str], str]:
    """(port, actual, expected) -> verdict, from the run's parity.json."""
    doc = json.loads((out / "parity.json").read_text())
    return {(c["port"], p["actual"], p["expected"].split("[")[0]): p["verdict"] for c in doc["cases"] for p in c["comparisons"]}


def test_check_command_judges_the_renamed_and_the_translated_call_on_npy_arrays(tmp_path):
    features, rois = _arrays()
    np.save(tmp_path / "f.npy", features)
    np.save(tmp_path / "r.npy", rois)
    out = tmp_path / "out"
    r = parity_cli("check", "--features", str(tmp_path / "f.npy"), "--rois", str(tmp_path / "r.npy"), "--call", CALL,
                   "--out", str(out), "--runners", "torchvision,mindspore")
    assert r.returncode == 0, r.stdout + r.stderr
    v = _verdicts(out)
    # the call as the migration note renames it: MindSpore's roi_end_mode=1 is not torchvision's aligned=True
    assert v[("mapped", "mindspore", "torchvision")] == "EXPECTED_DIVERGENCE"
    # the exact translation (the roi shift): MindSpore agrees with torchvision and with its reference
    assert v[("translated", "mindspore", "torchvision")] == "PASS"
    assert v[("translated", "mindspore", "reference")] == "PASS"
    assert v[("translated", "torchvision", "reference")] == "PASS"
    assert re.search(r"translated +mindspore vs torchvision: PASS", r.stdout)
    # the fixture folder is an ordinary one: same arrays, the documented sha256, replayable
    loaded = fixtures.load(out / "fixtures")
    assert [c.port.value for c in loaded] == ["mapped", "translated"]
    assert all(np.array_equal(c.features, features) and np.array_equal(c.rois, rois) for c in loaded)
    manifest = json.loads((out / "fixtures" / "manifest.json").read_text())
    for name, a in (("features", features), ("rois", rois)):
        documented = hashlib.sha256((a.dtype.str + str(a.shape)).encode() + a.tobytes()).hexdigest()
        assert all(e["sha256"][name] == documented for e in manifest["cases"])
    # every repro command the report prints works: it finds its case in the fixture folder
    page = (out / "parity.html").read_text()
    commands = {html.unescape(m) for m in re.findall(r"(parity run --fixtures [^<]*)", page)}
    assert commands
    for command in commands:
        words = shlex.split(command)
        assert words[:2] == ["parity", "run"]
        again = subprocess.run([sys.executable, "-m", "parity.shells.cli", *words[1:], "--out", str(tmp_path / "again")],
                               capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr
        [case] = json.loads((tmp_path / "again" / "parity.json").read_text())["cases"]
        assert case["id"] == words[words.index("-k") + 1]


def test_python_api_returns_typed_verdicts_that_print(tmp_path):
    features, rois = _arrays()
    found = parity.check(features, rois, output_size=7, spatial_scale=1 / 16, sampling_ratio=2, aligned=True,
                         out=tmp_path, runners=("torchvision", "mindspore"))
    assert found.verdict("renamed", "mindspore", "torchvision") == "EXPECTED_DIVERGENCE"
    assert found.verdict("translated", "mindspore", "torchvision") == "PASS"
    assert found.translated_agrees and found.exit_code == 0
    renamed = next(r for r in found.rows if (r.call, r.actual, r.expected) == ("renamed", "mindspore", "torchvision"))
    assert renamed.max_abs > 0.1 and renamed.divergence == "aligned-vs-roi-end-mode-1"
    assert "translated mindspore vs torchvision: PASS" in str(found)
    assert "<table>" in found._repr_html_() and "EXPECTED_DIVERGENCE" in found._repr_html_()
    assert (tmp_path / "parity.html").is_file() and (tmp_path / "fixtures" / "manifest.json").is_file()


@pytest.mark.parametrize(
    "text, attrs",
    [
        (CALL, Attrs((7, 7), 1 / 16, 2, True)),
        ("roi_align(x, rois, 7, 1/16, 2, True)", Attrs((7, 7), 0.0625, 2, True)),
        ("torchvision.ops.roi_align(feat, boxes, (7, 5), 0.25)", Attrs((7, 5), 0.25, -1, False)),
        ("roi_align(x, b, output_size=[3, 3], spatial_scale=2**-4, aligned=False)", Attrs((3, 3), 0.0625, -1, False)),
    ],
)
def test_call_strings_read_as_torchvision_signature(text, attrs):
    assert parse_call(text) == attrs


@pytest.mark.parametrize(
    "text",
    ["roi_align(output_size=__import__('os').system('touch x'))", "roi_align(spatial_scale=0.5)", "max(1, 2)",
     "roi_align(x, r, 7, scale=1)", "roi_align(x, r, 7, 1/0)", "roi_align(x, r, 7", "roi_align(x, r, 7, aligned=1)",
     "roi_align(x, r, 7, 10**1000)"],
)
def test_bad_call_strings_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_call(text)


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    features, rois = _arrays()
    np.save(tmp_path / "f.npy", features)
    np.save(tmp_path / "r.npy", rois)
    np.save(tmp_path / "r4.npy", rois[:, 1:])
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    f, r = str(tmp_path / "f.npy"), str(tmp_path / "r.npy")
    bad = [
        (["--features", str(tmp_path / "missing.npy"), "--rois", r, "--call", CALL], "no such file"),
        (["--features", f, "--rois", r, "--call", "roi_align(x, r, 7, __import__('os'))"], "not a literal"),
        (["--features", f, "--rois", str(tmp_path / "r4.npy"), "--call", CALL], "[K, 5]"),
        (["--features", r, "--rois", r, "--call", CALL], "[N, C, H, W]"),
        (["--features", str(tmp_path / "obj.npy"), "--rois", r, "--call", CALL], "--features"),
    ]
    for args, words in bad:
        result = parity_cli("check", *args, "--out", str(tmp_path / "out"))
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, result.stderr)
    assert not (tmp_path / "out").exists()


def test_pt_files_are_read_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    from parity.ops.roi_align import user_arrays

    features, _ = _arrays()
    torch.save(torch.from_numpy(features), tmp_path / "f.pt")
    torch.save({"rois": torch.zeros(3, 5), "other": torch.ones(2)}, tmp_path / "d.pt")
    assert np.array_equal(user_arrays.load(tmp_path / "f.pt", "features"), features)
    assert user_arrays.load(tmp_path / "d.pt", "rois").shape == (3, 5)

    class Payload:
        def __reduce__(self):
            return (print, ("pickled code ran",))

    torch.save(Payload(), tmp_path / "evil.pt")
    with pytest.raises(UsageError, match="weights_only"):
        user_arrays.load(tmp_path / "evil.pt", "features")
