"""Regression folders: failing cases shrunk by a random suite, kept so that they replay forever
(``parity run --op NAME --fixtures FOLDER``), for any op whose case is its named input arrays.

A folder holds ``manifest.json`` (the op, and per case its id, suite, attrs, port, tags and file)
and one ``.npz`` per case with the case's inputs under their names.  Arrays load with
``allow_pickle=False`` and their uncompressed size is checked against the cap before any is
decompressed; a manifest of another op is refused with the option that replays it.  Shrinking is
greedy, as in property-based testing: keep any smaller variant that still fails, until none does.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from parity.engine.errors import FixtureError
from parity.engine.model import Case, Port

MANIFEST = "manifest.json"


def shrink_greedily(case: Case, fails: Callable[[Case], bool], variants: Callable[[Case], Iterable[Case]], max_tries: int) -> Case:
    """The smallest variant of ``case`` found (within ``max_tries`` runs) for which ``fails`` still
    holds, named and filed as a regression (:func:`as_regression`)."""
    current, tries, improved = case, 0, True
    while improved and tries < max_tries:
        improved = False
        for candidate in variants(current):
            tries += 1
            if fails(candidate):
                current, improved = candidate, True
                break
    return as_regression(case, current)


def as_regression(original: Case, small: Case) -> Case:
    """``small`` under the id ``<original>-shrunk``, tagged ``shrunk``.  A robustness case stays
    one (suite ``invalid``): replayed as a valid case it would be judged on numbers."""
    suite = "invalid" if original.invalid else "regressions"
    return dataclasses.replace(small, id=f"{original.id}-shrunk", suite=suite, tags=(*original.tags, "shrunk"))


def _file(i: int) -> str:
    return f"case-{i:04d}.npz"


def save(cases: list[Case], folder: Path, op: str) -> None:
    """Write ``cases`` (all of op ``op``) as a regression folder: its manifest and one .npz per case."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, case in enumerate(cases):
        np.savez(folder / _file(i), allow_pickle=False, **{k: np.asarray(v) for k, v in case.inputs.items()})
        entries.append({"id": case.id, "suite": case.suite, "attrs": case.attrs.to_json(), "port": case.port.value, "tags": list(case.tags), "file": _file(i)})
    (folder / MANIFEST).write_text(json.dumps({"op": op, "cases": entries}, indent=1))


def arrays(path: Path, max_case_bytes: int, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays of one .npz, its uncompressed size checked first; each of ``names`` must be there."""
    try:
        with zipfile.ZipFile(path) as z:
            size = sum(info.file_size for info in z.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise FixtureError(f"{path}: not a readable .npz ({exc}); write it with numpy.savez(path, {'=..., '.join(names)}=...)") from None
    if size > max_case_bytes:
        raise FixtureError(f"{path}: {size} bytes uncompressed, above the {max_case_bytes}-byte cap per case; make it smaller or raise --max-case-mb")
    with np.load(path, allow_pickle=False) as z:
        missing = [k for k in names if k not in z.files]
        if missing:
            raise FixtureError(f"{path}: no {' or '.join(missing)} array (found: {', '.join(z.files) or 'none'}); save {', '.join(names)}")
        return {k: z[k] for k in z.files}


def load(folder: Path, max_case_bytes: int, op: str, attrs_from_json: Callable[[Any], Any], names: tuple[str, ...]) -> list[Case]:
    """Every case of a regression folder of op ``op`` (each with at least the inputs ``names``)."""
    try:
        doc = json.loads((folder / MANIFEST).read_text())
        entries = doc["cases"]
        if doc.get("op") != op:
            raise FixtureError(f"{folder / MANIFEST}: a fixture folder of op {doc.get('op')!r}; replay it with --op {doc.get('op')}")
        cases = []
        for e in entries:
            inputs = arrays(folder / Path(e["file"]).name, max_case_bytes, names)
            cases.append(Case(e["id"], e["suite"], attrs_from_json(e["attrs"]), inputs, Port(e["port"]), tuple(e["tags"]), op=op))
    except FixtureError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FixtureError(f"{folder / MANIFEST}: unreadable ({exc}); regenerate the folder") from None
    return cases


def add(case: Case, folder: Path, op: str, attrs_from_json: Callable[[Any], Any], names: tuple[str, ...]) -> None:
    """Add ``case`` to the regression folder ``folder`` (created if needed), replacing one of its id."""
    existing = load(folder, 2**62, op, attrs_from_json, names) if (folder / MANIFEST).exists() else []
    save([*(c for c in existing if c.id != case.id), case], folder, op)
