"""box_iou fixture folders: kept regression cases, and a user's own boxes, replayed with
``parity run --op box_iou --fixtures FOLDER``.

A folder with ``manifest.json`` holds cases as parity wrote them (one ``.npz`` per case with
``boxes1`` and ``boxes2``, and each case's id, suite, mode, port and tags in the manifest).  A
folder without one is a user's: every ``*.npz`` in it with ``boxes1`` [N, 4] and ``boxes2``
[M, 4] (and optionally ``mode``, "iou" or "iof") becomes one case per port (the mapped call and
the exact translation), so a user sees both on their own boxes.  Sizes are checked against the
cap before any array is decompressed.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from parity.engine.errors import FixtureError
from parity.engine.model import Case, Port
from parity.ops.box_iou.signature import MODES, Attrs

MANIFEST = "manifest.json"
USER_PORTS = (Port.MAPPED, Port.TRANSLATED)


def _file(i: int) -> str:
    return f"case-{i:04d}.npz"


def save(cases: list[Case], folder: Path) -> None:
    """Write ``cases`` as a fixture folder (its manifest and one .npz per case)."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, case in enumerate(cases):
        np.savez(folder / _file(i), boxes1=np.asarray(case.boxes1), boxes2=np.asarray(case.boxes2))
        entries.append({"id": case.id, "suite": case.suite, "attrs": case.attrs.to_json(), "port": case.port.value, "tags": list(case.tags), "file": _file(i)})
    (folder / MANIFEST).write_text(json.dumps({"op": "box_iou", "cases": entries}, indent=1))


def _arrays(path: Path, max_case_bytes: int) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as z:
            size = sum(info.file_size for info in z.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise FixtureError(f"{path}: not a readable .npz ({exc}); write it with numpy.savez(path, boxes1=..., boxes2=...)") from None
    if size > max_case_bytes:
        raise FixtureError(f"{path}: {size} bytes uncompressed, above the {max_case_bytes}-byte cap per case; split the boxes or raise --max-case-bytes")
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in ("boxes1", "boxes2") if k not in z.files]
        if missing:
            raise FixtureError(f"{path}: no {' or '.join(missing)} array (found: {', '.join(z.files) or 'none'}); save both, e.g. numpy.savez(path, boxes1=b1, boxes2=b2)")
        return {k: z[k] for k in z.files}


def _mode(path: Path, arrays: dict[str, np.ndarray]) -> str:
    mode = str(arrays["mode"]) if "mode" in arrays else "iou"
    if mode not in MODES:
        raise FixtureError(f"{path}: mode {mode!r}; use one of {', '.join(MODES)} (or leave mode out for iou)")
    return mode


def _user_cases(folder: Path, max_case_bytes: int) -> list[Case]:
    files = sorted(folder.glob("*.npz"))
    if not files:
        raise FixtureError(f"{folder}: no {MANIFEST} and no .npz files; put your boxes in NAME.npz with arrays boxes1 and boxes2")
    cases = []
    for path in files:
        arrays = _arrays(path, max_case_bytes)
        attrs = Attrs(_mode(path, arrays))
        for port in USER_PORTS:
            inputs = {"boxes1": arrays["boxes1"], "boxes2": arrays["boxes2"]}
            case_id = f"box_iou[{attrs.label()}]-{port.value}-{path.stem}"
            cases.append(Case(case_id, "fixtures", attrs, inputs, port, ("fixtures", path.stem, port.value), op="box_iou"))
    return cases


def _manifest_cases(folder: Path, max_case_bytes: int) -> list[Case]:
    try:
        doc = json.loads((folder / MANIFEST).read_text())
        entries = doc["cases"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FixtureError(f"{folder / MANIFEST}: unreadable ({exc}); regenerate the folder") from None
    if doc.get("op") != "box_iou":
        raise FixtureError(f"{folder / MANIFEST}: a fixture folder of op {doc.get('op')!r}; replay it with --op {doc.get('op')}")
    cases = []
    for e in entries:
        arrays = _arrays(folder / e["file"], max_case_bytes)
        inputs = {"boxes1": arrays["boxes1"], "boxes2": arrays["boxes2"]}
        cases.append(Case(e["id"], e["suite"], Attrs.from_json(e["attrs"]), inputs, Port(e["port"]), tuple(e["tags"]), op="box_iou"))
    return cases


def load(folder: Path, max_case_bytes: int) -> list[Case]:
    """Every case of a fixture folder: parity's own (with a manifest) or a user's .npz boxes."""
    if not folder.is_dir():
        raise FixtureError(f"{folder}: no such folder; pass a folder of .npz boxes (or one parity wrote)")
    if (folder / MANIFEST).exists():
        return _manifest_cases(folder, max_case_bytes)
    return _user_cases(folder, max_case_bytes)


def save_regression(case: Case, folder: Path) -> None:
    """Add ``case`` to the fixture folder ``folder`` (created if needed) so it replays forever."""
    existing = load(folder, 2**62) if (folder / MANIFEST).exists() else []
    save([*(c for c in existing if c.id != case.id), case], folder)
