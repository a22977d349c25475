"""Fixtures: reproducible bytes, verified checksums, clear refusals, replay equal to generation."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from parity.ops.roi_align import fixtures, generate
from parity.engine.errors import FixtureError

from tests.test_cli import ROOT, parity

GOLDEN = ROOT / "cases" / "golden"


def test_golden_set_is_small_verified_and_regenerates_byte_for_byte(tmp_path):
    size = sum(p.stat().st_size for p in GOLDEN.iterdir())
    assert size < 1_000_000
    cases = fixtures.load(GOLDEN)  # verifies every sha256
    assert {c.id for c in cases} == {c.id for c in generate.cases_for("golden")}
    fixtures.save(generate.cases_for("golden"), tmp_path, "golden")
    for path in GOLDEN.iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_standard_and_edge_regenerate_identically(tmp_path):
    for suite in ("standard", "edge"):
        a, b = tmp_path / f"{suite}-a", tmp_path / f"{suite}-b"
        fixtures.save(generate.cases_for(suite), a, suite)
        fixtures.save(generate.cases_for(suite), b, suite)
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
        assert all((a / p.name).read_bytes() == (b / p.name).read_bytes() for p in a.iterdir())


def test_loaded_cases_equal_generated_ones():
    for loaded, made in zip(fixtures.load(GOLDEN), generate.cases_for("golden")):
        assert loaded.id == made.id and loaded.attrs == made.attrs and loaded.port == made.port
        np.testing.assert_array_equal(loaded.features, made.features)
        assert loaded.features.dtype == made.features.dtype


@pytest.fixture
def copy(tmp_path) -> Path:
    dst = tmp_path / "fx"
    shutil.copytree(GOLDEN, dst)
    return dst


def _first_file(folder: Path) -> Path:
    return folder / json.loads((folder / "manifest.json").read_text())["cases"][0]["file"]


def test_tampered_array_is_refused_naming_the_file(copy):
    path = _first_file(copy)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["features"] = arrays["features"] + 1
    fixtures._write_npz(path, arrays)
    with pytest.raises(FixtureError, match=f"{path.name}.*sha256"):
        fixtures.load(copy)


@pytest.mark.parametrize("damage", ["truncate", "missing", "manifest"])
def test_broken_fixtures_are_clear_errors(copy, damage):
    path = _first_file(copy)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:50])
        match = "corrupt or truncated"
    elif damage == "missing":
        path.unlink()
        match = "is missing"
    else:
        (copy / "manifest.json").write_text("{not json")
        match = "not a valid manifest"
    with pytest.raises(FixtureError, match=match):
        fixtures.load(copy)


def test_duplicate_ids_in_a_manifest_are_refused(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["cases"].append(manifest["cases"][0])
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FixtureError, match="twice"):
        fixtures.load(copy)


def test_replaying_fixtures_gives_the_generated_report(tmp_path):
    fx = tmp_path / "fx"
    assert parity("generate", "--suite", "standard", "--out", str(fx)).returncode == 0
    gen = parity("run", "-k", "f16-border", "--out", str(tmp_path / "gen"))
    rep = parity("run", "--fixtures", str(fx), "-k", "f16-border", "--out", str(tmp_path / "rep"))
    assert gen.returncode == rep.returncode == 0, rep.stderr
    a, b = (json.loads((tmp_path / d / "parity.json").read_text()) for d in ("gen", "rep"))
    assert a["cases"] == b["cases"] and a["summary"] == b["summary"]


def test_cli_refuses_a_missing_fixture_folder(tmp_path):
    r = parity("run", "--fixtures", str(tmp_path / "nope"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def _field_values(case) -> dict:
    """Every dataclass field of a Case (a new field is covered without touching this test)."""
    import dataclasses

    return {f.name: getattr(case, f.name) for f in dataclasses.fields(case)}


def _assert_same_case(loaded, made) -> None:
    for name, want in _field_values(made).items():
        got = getattr(loaded, name)
        if name == "inputs":  # the arrays by name
            assert list(got) == list(want), (made.id, list(got), list(want))
            for key, array in want.items():
                assert got[key].dtype == array.dtype and got[key].shape == array.shape, (made.id, key)
                np.testing.assert_array_equal(got[key], array, err_msg=f"{made.id} {key}")
        elif isinstance(want, np.ndarray):
            assert got.dtype == want.dtype and got.shape == want.shape, (made.id, name)
            np.testing.assert_array_equal(got, want, err_msg=f"{made.id} {name}")
        else:
            assert type(got) is type(want) and got == want, (made.id, name, got, want)


@pytest.mark.parametrize("suite", ["seed", "standard", "edge", "invalid", "random"])
def test_every_case_field_survives_save_and_load(tmp_path, suite):
    made = generate.cases_for(suite, budget=30, seed=5) if suite == "random" else generate.cases_for(suite)
    fixtures.save(made, tmp_path, suite)
    loaded = fixtures.load(tmp_path)
    assert [c.id for c in loaded] == [c.id for c in made]
    for got, want in zip(loaded, made):
        _assert_same_case(got, want)
    if suite == "invalid":
        assert any(c.layout == "non-contiguous" for c in loaded)


def test_a_shrunk_regression_keeps_every_field(tmp_path):
    from parity.ops.roi_align.shrink import save_regression, shrink

    [case] = [c for c in generate.cases_for("invalid") if c.layout == "non-contiguous"]
    small = shrink(case, lambda candidate: True)
    save_regression(small, tmp_path)
    [loaded] = fixtures.load(tmp_path)
    assert loaded.layout == "non-contiguous"
    _assert_same_case(loaded, small)
