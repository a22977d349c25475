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

from pathlib import Path

import numpy as np

from parity.engine import regressions
from parity.engine.errors import FixtureError
from parity.engine.model import Case, Port
from parity.ops.box_iou.signature import MODES, Attrs

MANIFEST = regressions.MANIFEST
USER_PORTS = (Port.MAPPED, Port.TRANSLATED)
_NAMES = ("boxes1", "boxes2")


def save(cases: list[Case], folder: Path) -> None:
    """Write ``cases`` as a fixture folder (its manifest and one .npz per case)."""
    regressions.save(cases, folder, "box_iou")


def _arrays(path: Path, max_case_bytes: int) -> dict[str, np.ndarray]:
    return regressions.arrays(path, max_case_bytes, _NAMES)


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
    return regressions.load(folder, max_case_bytes, "box_iou", Attrs.from_json, _NAMES)


def load(folder: Path, max_case_bytes: int) -> list[Case]:
    """Every case of a fixture folder: parity's own (with a manifest) or a user's .npz boxes."""
    if not folder.is_dir():
        raise FixtureError(f"{folder}: no such folder; pass a folder of .npz boxes (or one parity wrote)")
    if (folder / MANIFEST).exists():
        return _manifest_cases(folder, max_case_bytes)
    return _user_cases(folder, max_case_bytes)


def save_regression(case: Case, folder: Path) -> None:
    """Add ``case`` to the fixture folder ``folder`` (created if needed) so it replays forever."""
    regressions.add(case, folder, "box_iou", Attrs.from_json, _NAMES)
