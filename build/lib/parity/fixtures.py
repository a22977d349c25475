"""Fixtures on disk: one ``.npz`` per case plus ``manifest.json`` with checksums.

Fixtures are data, never code: arrays load with ``allow_pickle=False`` and are checked against
the manifest (sha256, dtype, shape) before use.  Files are written byte-for-byte reproducibly
(fixed zip timestamps), so regenerating a suite with the same seed gives identical bytes.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import FixtureError
from parity.generate import GENERATOR_VERSION, seed_of
from parity.model import Attrs, Case, Port

MANIFEST = "manifest.json"
ARRAYS = ("features", "rois")


def array_digest(a: np.ndarray) -> str:
    """sha256 over dtype, shape and the C-order bytes: equal digests mean equal arrays."""
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def file_name(case_id: str) -> str:
    return hashlib.sha256(case_id.encode()).hexdigest()[:24] + ".npz"


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz whose bytes depend only on the arrays (np.savez stamps the current time)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, a in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(a), allow_pickle=False)
            zf.writestr(info, data.getvalue())
    path.write_bytes(buf.getvalue())


def _entry(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "file": file_name(case.id),
        "suite": case.suite,
        "attrs": case.attrs.to_json(),
        "port": case.port.value,
        "boxes": case.boxes,
        "tags": list(case.tags),
        "seed": seed_of(case.id),
        "dtype": case.dtype,
        "shapes": {name: list(getattr(case, name).shape) for name in ARRAYS},
        "dtypes": {name: str(getattr(case, name).dtype) for name in ARRAYS},
        "sha256": {name: array_digest(getattr(case, name)) for name in ARRAYS},
    }


def save(cases: list[Case], out_dir: Path, suite: str) -> Path:
    """Write every case and the manifest; returns the manifest path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for case in cases:
        _write_npz(out_dir / file_name(case.id), {name: getattr(case, name) for name in ARRAYS})
        entries.append(_entry(case))
    manifest = {"generator_version": GENERATOR_VERSION, "suite": suite, "cases": entries}
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path


def _read_manifest(fixtures_dir: Path) -> dict[str, Any]:
    path = fixtures_dir / MANIFEST
    if not fixtures_dir.is_dir():
        raise FixtureError(f"fixture folder {fixtures_dir} does not exist; create it with: parity generate --out {fixtures_dir}")
    if not path.is_file():
        raise FixtureError(f"{fixtures_dir} has no {MANIFEST}; it is not a fixture folder (parity generate writes one)")
    try:
        manifest = json.loads(path.read_text())
        entries = manifest["cases"]
    except (ValueError, KeyError, TypeError) as exc:
        raise FixtureError(f"{path} is not a valid manifest ({exc}); regenerate it with parity generate") from None
    ids = [e["id"] for e in entries]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise FixtureError(f"{path} lists case {dup!r} twice; case ids must be unique")
    return manifest


def _load_arrays(path: Path, entry: dict[str, Any]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in ARRAYS}
    except FileNotFoundError:
        raise FixtureError(f"fixture file {path} is missing (case {entry['id']})") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise FixtureError(f"fixture file {path} is corrupt or truncated ({type(exc).__name__}); regenerate it") from None
    for name, a in arrays.items():
        if list(a.shape) != entry["shapes"][name] or str(a.dtype) != entry["dtypes"][name]:
            raise FixtureError(
                f"fixture file {path}: {name} is {a.dtype}{list(a.shape)}, the manifest says "
                f"{entry['dtypes'][name]}{entry['shapes'][name]}"
            )
        if array_digest(a) != entry["sha256"][name]:
            raise FixtureError(f"fixture file {path}: {name} does not match its sha256 in the manifest; refusing to use it")
    return arrays


def load(fixtures_dir: Path) -> list[Case]:
    """Every case of a fixture folder, verified against its manifest."""
    manifest = _read_manifest(fixtures_dir)
    cases = []
    for entry in manifest["cases"]:
        arrays = _load_arrays(fixtures_dir / entry["file"], entry)
        cases.append(
            Case(
                entry["id"],
                entry["suite"],
                Attrs.from_json(entry["attrs"]),
                arrays["features"],
                arrays["rois"],
                Port(entry["port"]),
                tuple(entry["tags"]),
                entry["boxes"],
            )
        )
    return cases
