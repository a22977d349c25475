"""Fixtures on disk: one ``.npz`` per case plus ``manifest.json`` with checksums.

Fixtures are data from a stranger, never code and never a path: every manifest field is checked
(types, values, a file that is a bare name inside the folder) and each array's ``.npy`` header is
read from the zip and checked against the manifest (shape, dtype, no pickled objects) and against
``--max-case-mb`` before a byte of it is decompressed; then its sha256.  A refusal is one line
naming the folder, the case and the field.  Files are written byte-for-byte reproducibly (fixed
zip timestamps), so regenerating a suite with the same seed gives identical bytes, and atomically
(parity.engine.files).
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn

import numpy as np

from parity.engine import files, limits
from parity.ops.roi_align import limits as roi_limits
from parity.engine.errors import FixtureError
from parity.ops.roi_align.generate import GENERATOR_VERSION
from parity.engine.seeds import seed_of
from parity.engine.model import Case, Port
from parity.ops.roi_align.attrs import Attrs

MANIFEST = "manifest.json"
ARRAYS = ("features", "rois")
#: dtypes a fixture array may have (the suites use the floats; the invalid suite also int32).
DTYPES = ("float16", "float32", "float64", "int32", "int64")
BOXES = ("tensor", "list")
LAYOUTS = ("contiguous", "non-contiguous")
#: A manifest larger than this was not written by parity (the standard suite's is about 0.5 MB).
MANIFEST_LIMIT = 32 << 20
MAX_NDIM = 8
MAX_TEXT = 1000
#: A fixture file is a bare name in the folder: no separator, no "..", no leading dot.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,200}\.npz")
SHA256 = re.compile(r"[0-9a-f]{64}")
#: Room the .npy header takes in front of the data (numpy caps header text at 10 000 bytes).
NPY_HEADER_ROOM = 1 << 16


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
    files.atomic_write(path, buf.getvalue())


def _entry(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "file": file_name(case.id),
        "suite": case.suite,
        "attrs": case.attrs.to_json(),
        "port": case.port.value,
        "boxes": case.boxes,
        "layout": case.layout,
        "tags": list(case.tags),
        "seed": seed_of(case.id),
        "dtype": case.dtype,
        "shapes": {name: list(getattr(case, name).shape) for name in ARRAYS},
        "dtypes": {name: str(getattr(case, name).dtype) for name in ARRAYS},
        "sha256": {name: array_digest(getattr(case, name)) for name in ARRAYS},
    }


def save(cases: list[Case], out_dir: Path, suite: str, info: dict[str, Any] | None = None) -> Path:
    """Write every case and the manifest; returns the manifest path.

    ``info`` adds top-level manifest fields that loading ignores (parity.ops.roi_align.capture: what it left out).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for case in cases:
        _write_npz(out_dir / file_name(case.id), {name: getattr(case, name) for name in ARRAYS})
        entries.append(_entry(case))
    manifest = {**(info or {}), "generator_version": GENERATOR_VERSION, "suite": suite, "cases": entries}
    path = out_dir / MANIFEST
    files.atomic_write(path, json.dumps(manifest, indent=1) + "\n")
    return path


@dataclass(frozen=True)
class Entry:
    """One manifest entry, checked: every field has its type and a sane value."""

    case_id: str
    file: str
    suite: str
    attrs: Attrs
    port: Port
    boxes: str
    layout: str
    tags: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, np.dtype]
    sha256: dict[str, str]


_FIELD = object()  # "read the value from the entry"
#: The fields of a manifest entry; any other is refused (it would be dropped on load).
ENTRY_FIELDS = ("id", "file", "suite", "attrs", "port", "boxes", "layout", "tags", "seed", "dtype", "shapes", "dtypes", "sha256")


class _Fields:
    """Reads one manifest entry's fields, each refusal naming the folder, the case and the field."""

    def __init__(self, folder: Path, entry: Any, index: int):
        self.folder, self.entry = folder, entry
        self.case = f"case #{index + 1}"
        if not isinstance(entry, dict):
            self.fail("", f"is a {type(entry).__name__}, not an object")
        case_id = entry.get("id")
        if isinstance(case_id, str) and case_id.isprintable() and 0 < len(case_id) <= MAX_TEXT:
            self.case = f"case {case_id!r}"
        extra = sorted(set(entry) - set(ENTRY_FIELDS))
        if extra:
            self.fail(_show(extra[0]), "is not a field parity knows")

    def fail(self, field: str, problem: str) -> NoReturn:
        where = f"{self.case} field {field}" if field else self.case
        raise FixtureError(f"fixture folder {self.folder}: {where} {problem}; regenerate it with parity generate")

    def get(self, field: str) -> Any:
        if field not in self.entry:
            self.fail(field, "is missing")
        return self.entry[field]

    def text(self, field: str, value: Any = _FIELD, *, name: str | None = None) -> str:
        value = self.get(field) if value is _FIELD else value
        if not isinstance(value, str) or not value.isprintable() or not 0 < len(value) <= MAX_TEXT:
            self.fail(name or field, f"must be printable text of 1 to {MAX_TEXT} characters, got {_show(value)}")
        return value

    def choice(self, field: str, allowed: tuple[str, ...]) -> str:
        value = self.get(field)
        if not isinstance(value, str) or value not in allowed:
            self.fail(field, f"must be one of {', '.join(allowed)}, got {_show(value)}")
        return value

    def integer(self, value: Any, field: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(field, f"must be an integer, got {_show(value)}")
        return value

    def obj(self, field: str, keys: tuple[str, ...]) -> dict[str, Any]:
        value = self.get(field)
        if not isinstance(value, dict):
            self.fail(field, f"must be an object, got {_show(value)}")
        for k in keys:
            if k not in value:
                self.fail(f"{field}.{k}", "is missing")
        extra = sorted(set(value) - set(keys))
        if extra:
            self.fail(f"{field}.{_show(extra[0])}", "is not a field parity knows")
        return value

    def shape(self, value: Any, field: str) -> tuple[int, ...]:
        if not isinstance(value, list) or len(value) > MAX_NDIM:
            self.fail(field, f"must be a list of at most {MAX_NDIM} sizes, got {_show(value)}")
        dims = tuple(self.integer(d, field) for d in value)
        if any(d < 0 for d in dims):
            self.fail(field, f"must hold sizes >= 0, got {list(dims)}")
        return dims

    def dtype(self, value: Any, field: str) -> np.dtype:
        if value not in DTYPES:
            self.fail(field, f"must be one of {', '.join(DTYPES)}, got {_show(value)}")
        dtype: np.dtype = np.dtype(value)
        return dtype

    def attrs(self, invalid: bool) -> Attrs:
        a = self.obj("attrs", ("output_size", "spatial_scale", "sampling_ratio", "aligned"))
        size = a["output_size"]
        if not isinstance(size, list) or len(size) != 2:
            self.fail("attrs.output_size", f"must be [height, width], got {_show(size)}")
        ph, pw = (self.integer(v, "attrs.output_size") for v in size)
        if not invalid and min(ph, pw) <= 0:  # the invalid suite holds bad calls on purpose
            self.fail("attrs.output_size", f"must be positive, got {[ph, pw]}")
        scale = a["spatial_scale"]
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale):
            self.fail("attrs.spatial_scale", f"must be a finite number, got {_show(scale)}")
        if not invalid and scale <= 0:
            self.fail("attrs.spatial_scale", f"must be positive, got {scale!r}")
        ratio = self.integer(a["sampling_ratio"], "attrs.sampling_ratio")
        if not isinstance(a["aligned"], bool):
            self.fail("attrs.aligned", f"must be true or false, got {_show(a['aligned'])}")
        return Attrs((ph, pw), float(scale), ratio, a["aligned"])

    def read(self) -> Entry:
        case_id = self.text("id")
        file = self.get("file")
        if not isinstance(file, str) or not FILE_NAME.fullmatch(file):
            self.fail("file", f"must be a bare .npz file name inside the folder, got {_show(file)}")
        suite = self.text("suite")
        attrs = self.attrs(suite == "invalid")
        port = Port(self.choice("port", tuple(p.value for p in Port)))
        boxes, layout = self.choice("boxes", BOXES), self.choice("layout", LAYOUTS)
        tags = self.get("tags")
        if not isinstance(tags, list):
            self.fail("tags", f"must be a list of text, got {_show(tags)}")
        tags = tuple(self.text("tags", t, name="tags") for t in tags)
        if "seed" in self.entry:
            self.integer(self.entry["seed"], "seed")
        shapes = self.obj("shapes", ARRAYS)
        dtypes = self.obj("dtypes", ARRAYS)
        digests = self.obj("sha256", ARRAYS)
        for name in ARRAYS:
            if not isinstance(digests[name], str) or not SHA256.fullmatch(digests[name]):
                self.fail(f"sha256.{name}", f"must be 64 lowercase hex digits, got {_show(digests[name])}")
        entry = Entry(
            case_id, file, suite, attrs, port, boxes, layout, tags,
            {n: self.shape(shapes[n], f"shapes.{n}") for n in ARRAYS},
            {n: self.dtype(dtypes[n], f"dtypes.{n}") for n in ARRAYS},
            {n: digests[n] for n in ARRAYS},
        )
        if self.get("dtype") != str(entry.dtypes["features"]):
            self.fail("dtype", f"must be the features' dtype {entry.dtypes['features']}, got {_show(self.entry['dtype'])}")
        return entry


def _show(value: Any) -> str:
    """A manifest value in a message: repr (control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_manifest(fixtures_dir: Path) -> list[Entry]:
    path = fixtures_dir / MANIFEST
    if not fixtures_dir.is_dir():
        raise FixtureError(f"fixture folder {fixtures_dir} does not exist; create it with: parity generate --out {fixtures_dir}")
    files.refuse_link(path)
    if not path.is_file():
        raise FixtureError(f"{fixtures_dir} has no {MANIFEST}; it is not a fixture folder (parity generate writes one)")
    try:
        manifest = json.loads(files.read_bytes(path, MANIFEST_LIMIT, "manifest"))
        entries = manifest["cases"]
        if not isinstance(entries, list):
            raise TypeError("cases is not a list")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise FixtureError(f"{path} is not a valid manifest ({type(exc).__name__}: {str(exc)[:80]}); regenerate it with parity generate") from None
    checked = [_Fields(fixtures_dir, e, i).read() for i, e in enumerate(entries)]
    ids = [e.case_id for e in checked]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise FixtureError(f"{path} lists case {dup!r} twice; case ids must be unique")
    return checked


def _check_size(folder: Path, entry: Entry, max_case_bytes: int) -> None:
    """Refuse a case whose declared shapes alone exceed the limit, before reading its file.

    One semantics and no gradient: a lower bound of what ``parity run`` checks once the case
    is loaded (parity.engine.limits), so nothing refused here would have been accepted there.
    """
    need = roi_limits.estimate(entry.shapes["features"], entry.shapes["rois"], entry.attrs, 1, False)
    if need > max_case_bytes:
        raise FixtureError(
            f"fixture folder {folder}: case {entry.case_id!r} field shapes: {list(entry.shapes['features'])} features and "
            f"{list(entry.shapes['rois'])} rois need at least {limits.describe(need)}, more than {limits.OPTION} "
            f"{max_case_bytes >> 20}; raise {limits.OPTION} if the case is meant to be this large"
        )


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...], dtype: np.dtype,
                 fail: Callable[[str], NoReturn]) -> np.ndarray:
    """One array, header first: nothing is decompressed beyond the header until it matches the manifest."""
    nbytes = math.prod(shape) * dtype.itemsize
    if info.flag_bits & 0x1:
        fail("is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        fail(f"uses zip compression method {info.compress_type}; parity writes deflate only")
    if not nbytes <= info.file_size <= nbytes + NPY_HEADER_ROOM:
        fail(f"declares {info.file_size} bytes uncompressed where the manifest's {dtype}{list(shape)} takes {nbytes}")
    with zf.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(member)
        else:
            fail(f"is .npy format {version}; parity reads 1.0 and 2.0")
        got_shape, fortran, got_dtype = header
        if got_dtype.hasobject:
            fail("holds Python objects (a pickle); fixtures hold numbers only")
        if tuple(got_shape) != shape or got_dtype != dtype:
            fail(f"is {got_dtype}{list(got_shape)}, the manifest says {dtype}{list(shape)}")
        out = np.empty(nbytes, np.uint8)
        done = 0
        while done < nbytes:
            chunk = member.read(min(1 << 22, nbytes - done))
            if not chunk:
                fail(f"ends after {done} of its {nbytes} bytes")
            out[done : done + len(chunk)] = np.frombuffer(chunk, np.uint8)
            done += len(chunk)
        if member.read(1):
            fail("holds bytes after its array")
    return out.view(dtype).reshape(shape, order="F" if fortran else "C")


def _load_arrays(folder: Path, entry: Entry) -> dict[str, np.ndarray]:
    path = folder / entry.file

    def fail(problem: str, name: str = "") -> NoReturn:
        what = f"{entry.file} member {name}.npy" if name else entry.file
        raise FixtureError(f"fixture folder {folder}: case {entry.case_id!r} file {what} {problem}; regenerate it with parity generate")

    files.refuse_link(path)
    arrays = {}
    payload = sum(math.prod(entry.shapes[n]) * entry.dtypes[n].itemsize for n in ARRAYS)
    try:
        with files.open_nofollow(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > payload * 1.01 + (1 << 20):  # deflate never grows data by more than a fraction of a percent
                fail(f"is {size} bytes, more than its {payload} bytes of arrays can take")
            zf = zipfile.ZipFile(f)
            members = [i.filename for i in zf.infolist()]
            wanted = [f"{n}.npy" for n in ARRAYS]
            extra = sorted(set(members) - set(wanted))
            if extra:
                fail(f"holds {_show(extra[0])}, which the manifest does not declare")
            if sorted(members) != sorted(wanted):
                fail(f"must hold {' and '.join(wanted)} once each, holds {_show(members)}")
            for name in ARRAYS:
                arrays[name] = _read_member(zf, zf.getinfo(f"{name}.npy"), entry.shapes[name], entry.dtypes[name],
                                            functools.partial(fail, name=name))
            zf.close()
    except FileNotFoundError:
        raise FixtureError(f"fixture file {path} is missing (case {entry.case_id!r})") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, SyntaxError) as exc:
        raise FixtureError(f"fixture file {path} is corrupt or truncated ({type(exc).__name__}); regenerate it") from None
    for name, a in arrays.items():
        if array_digest(a) != entry.sha256[name]:
            raise FixtureError(f"fixture file {path}: {name} does not match its sha256 in the manifest; refusing to use it")
    return arrays


def load(fixtures_dir: Path, max_case_bytes: int = limits.DEFAULT_MAX_CASE_BYTES) -> list[Case]:
    """Every case of a fixture folder, verified against its manifest (sizes before any decompression)."""
    entries = _read_manifest(fixtures_dir)
    for entry in entries:
        _check_size(fixtures_dir, entry, max_case_bytes)
    cases = []
    for entry in entries:
        arrays = _load_arrays(fixtures_dir, entry)
        cases.append(
            Case(
                entry.case_id,
                entry.suite,
                entry.attrs,
                {"features": arrays["features"], "rois": arrays["rois"]},
                entry.port,
                entry.tags,
                entry.boxes,
                entry.layout,
            )
        )
    return cases
