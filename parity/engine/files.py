"""Safe file I/O for run folders, fixture folders and baselines: the one owner of how parity writes.

Two rules, both about files a stranger may have prepared (a downloaded CI artifact, a shared
workspace):

- A file parity writes is replaced atomically (temporary file in the same folder, fsync,
  ``os.replace``), so a full disk or a kill leaves the previous file or none, never a truncated
  report next to complete results.
- Inside the folders parity writes or reads, a symbolic link is refused, never followed: a link
  planted at a report's name must not make parity truncate a file elsewhere, and one in a shard
  must not make ``merge`` copy an outside file into its output.  (The folder passed on the command
  line may itself be a link: the user chose it.)
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Literal, overload

from parity.engine.errors import UsageError

#: Every name parity writes or reads at the top of a run folder (``parity run --out``).
RUN_FILES = ("run.json", "results.jsonl", "parity.md", "parity.json", "parity.html", "parity.xml", ".write-test")
#: Sub-folders of a run folder; they and every entry in them are checked too.
RUN_FOLDERS = ("arrays", "logs")


def refuse_link(path: Path) -> None:
    """Refuse ``path`` when it is a symbolic link (absent or a plain entry is fine)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot inspect {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path} is a symbolic link; parity does not follow links in its folders: remove it or pass another folder")


def check_run_folder(folder: Path) -> None:
    """Refuse a run folder in which any file parity writes or reads is a symbolic link."""
    for name in (*RUN_FILES, *RUN_FOLDERS):
        refuse_link(folder / name)
    for name in RUN_FOLDERS:
        sub = folder / name
        if sub.is_dir():
            for entry in sub.iterdir():
                refuse_link(entry)
                if entry.is_dir():  # logs/shard-I-of-N of a merged run
                    for inner in entry.iterdir():
                        refuse_link(inner)


def _open_flags(mode: str) -> int:
    flags = {"rb": os.O_RDONLY, "r": os.O_RDONLY, "ab": os.O_WRONLY | os.O_APPEND | os.O_CREAT,
             "a": os.O_WRONLY | os.O_APPEND | os.O_CREAT}[mode]
    return flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@overload
def open_nofollow(path: Path, mode: Literal["rb", "ab"] = "rb", encoding: None = None) -> IO[bytes]: ...
@overload
def open_nofollow(path: Path, mode: Literal["r", "a"], encoding: str | None = None) -> IO[str]: ...


def open_nofollow(path: Path, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
    """``open(path, mode)`` that refuses a symbolic link as the last component (``r``/``rb``/``a``/``ab``)."""
    try:
        fd = os.open(path, _open_flags(mode), 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component is a link
            raise UsageError(f"{path} is a symbolic link; parity does not follow links in its folders: remove it") from None
        raise
    return os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None)


def read_bytes(path: Path, limit: int | None = None, what: str = "file") -> bytes:
    """A file's bytes without following a link; ``limit`` refuses a larger file before reading it."""
    with open_nofollow(path, "rb") as f:
        if limit is not None:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise UsageError(f"{what} {path} is {size} bytes, more than the {limit} parity reads; it is not one parity wrote")
        return f.read()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path`` for a writer that needs a path; on success it replaces ``path``.

    The temporary file is created exclusively (so never through a planted link), fsynced, then
    renamed over ``path``; on any failure it is removed and ``path`` keeps its old content.
    """
    refuse_link(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are ordinary files
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write(path: Path, data: str | bytes, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``data`` atomically: the old content or the new, never a part."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy the plain file ``src`` to ``dst`` atomically; a link at either end is refused."""
    refuse_link(src)
    with open_nofollow(src, "rb") as fin, atomic_path(dst) as tmp:
        with open(tmp, "wb") as fout:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def probe_writable(folder: Path) -> None:
    """Create ``folder`` if needed and check that parity can write in it, without following links."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {folder}: {exc.strerror}; pass a writable --out") from None
    if not folder.is_dir():
        raise UsageError(f"cannot write to output folder {folder}: it is not a folder; pass a writable --out")
    check_run_folder(folder)
    probe = folder / ".write-test"
    try:
        probe.unlink(missing_ok=True)  # a stale probe of a killed run (a link was refused above)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {folder}: {exc.strerror}; pass a writable --out") from None
