"""Framing between the driver and worker processes: a JSON header plus raw array buffers.

Frame = 8-byte big-endian header length, header JSON, 8-byte payload length, payload.  The
payload is empty when a message carries no arrays; otherwise it is an 8-byte index length, the
index (JSON: one ``[name, dtype, shape]`` per array, dtype as NumPy spells it, e.g. ``"<f8"``)
and then each array's bytes in C order, in index order.

Arrays are data, never code: nothing is unpickled, a dtype other than those of :data:`DTYPES`
(plain booleans, integers, floats and complex numbers) and fixed-width text (``<U85``, ``|S4``)
is refused, and every array's size must add up to the declared payload length.  A frame that lies or breaks off raises :class:`FrameError` or
EOFError, never anything worse.  Large replies (the reference's, by the gigabyte) stream: the
writer hands each array's own buffer to the pipe (:func:`frame_parts`) and the reader fills
preallocated arrays with ``readinto`` (:func:`read_frame`), so neither side holds a copy of the
whole message.  This module is the one codec of that frame: the worker reads requests with
read_message, the driver (parity.engine.pool) reads replies with read_frame over its own
deadline-bound reads.
"""
from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

_LEN = struct.Struct(">Q")
#: Reply status of a request on which parity's own code failed in the worker (not a Status:
#: it is never a framework's result; the driver raises parity.engine.errors.ParityFailure).
PARITY_FAILURE = "parity_failure"
#: One decoded message: the header and the payload's arrays.
Message = tuple[dict[str, Any], dict[str, np.ndarray]]
#: What a frame is written as: byte strings and array buffers, in order.
Parts = list[bytes | memoryview]
#: The dtypes a frame may carry, both byte orders: plain numbers, nothing with objects inside.
DTYPES = frozenset(
    np.dtype(t).newbyteorder(order).str
    for t in ("?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16")
    for order in ("<", ">")
)
#: Fixed-width text a frame may carry too (a runner's per-element messages): ``<U85``, ``|S4``.
_TEXT = re.compile(r"(?:[<>]U|\|S)[1-9][0-9]{0,6}")
#: Header and index longer than this are refused before they are read (they are small JSON).
MAX_JSON = 64 << 20


class FrameError(ValueError):
    """A frame that is not what the format allows: a lying length, an unknown dtype, a bad index."""


def carried(dtype: str) -> bool:
    """Whether a frame may carry arrays of ``dtype`` (NumPy's spelling): numbers, fixed-width text."""
    return dtype in DTYPES or _TEXT.fullmatch(dtype) is not None


def frame_parts(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Parts:
    """One message as the pieces to write in order; the arrays' own buffers, not copies
    (a non-contiguous array is made contiguous first)."""
    head = json.dumps(header).encode()
    if not arrays:
        return [_LEN.pack(len(head)) + head + _LEN.pack(0)]
    flat = {name: _contiguous(np.asarray(a)) for name, a in arrays.items()}
    for name, a in flat.items():
        if not carried(a.dtype.str):
            raise FrameError(f"array {name!r} has dtype {a.dtype}, which frames do not carry (plain numbers only)")
    index = json.dumps([[name, a.dtype.str, list(a.shape)] for name, a in flat.items()]).encode()
    size = _LEN.size + len(index) + sum(a.nbytes for a in flat.values())
    parts: Parts = [_LEN.pack(len(head)) + head + _LEN.pack(size) + _LEN.pack(len(index)) + index]
    parts.extend(a.reshape(-1).view(np.uint8).data for a in flat.values() if a.nbytes)
    return parts


def encode(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """Serialize one message into one byte string (small messages; large ones: write_frame)."""
    return b"".join(frame_parts(header, arrays))


def write_frame(stream: BinaryIO, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write one message to ``stream`` piece by piece, without joining its arrays into one copy."""
    for part in frame_parts(header, arrays):
        stream.write(part)


def complete(frame: bytes) -> bool:
    """Whether ``frame`` is exactly one whole message (a writer that died mid-way leaves less)."""
    if len(frame) < _LEN.size:
        return False
    at = _LEN.size + _field(frame, 0)
    if len(frame) < at + _LEN.size:
        return False
    return len(frame) == at + _LEN.size + _field(frame, at)


def read_frame(readinto: Callable[[memoryview], None], length: bytes | None = None) -> Message:
    """Decode one message from ``readinto(view)``, which fills all of ``view`` or raises.

    ``length`` is the frame's first 8 bytes when the caller has already read them (to tell a
    clean end of stream from a message).  A reader that ends early raises EOFError; lengths,
    dtypes or shapes the format does not allow raise FrameError before anything that size is
    allocated beyond what the declared lengths promise.
    """
    head = _read_json(readinto, _size(length) if length is not None else _read_size(readinto), "header")
    payload = _read_size(readinto)
    if payload == 0:
        return head, {}
    if payload < _LEN.size:
        raise FrameError(f"a payload of {payload} bytes cannot hold its index length")
    index_size = _read_size(readinto)
    if index_size > payload - _LEN.size:
        raise FrameError(f"index of {index_size} bytes declared in a payload of {payload}")
    entries = _entries(_read_json(readinto, index_size, "index"))
    declared = sum(nbytes for _, _, _, nbytes in entries)
    if declared != payload - _LEN.size - index_size:
        raise FrameError(f"arrays of {declared} bytes declared in {payload - _LEN.size - index_size} bytes of payload")
    arrays: dict[str, np.ndarray] = {}
    for name, dtype, shape, nbytes in entries:
        try:
            a = np.empty(shape, dtype=dtype)
        except (MemoryError, ValueError) as exc:
            raise FrameError(f"array {name!r} of {nbytes} bytes cannot be allocated ({exc})") from None
        if nbytes:
            readinto(a.reshape(-1).view(np.uint8).data)
        arrays[name] = a
    return head, arrays


def read_message(stream: BinaryIO) -> Message | None:
    """Read one message from a blocking stream; ``None`` at a clean end of stream."""
    raw = stream.read(_LEN.size)
    if not raw:
        return None
    return read_frame(lambda view: _fill(stream, view), raw)


def decode(frame: bytes) -> Message:
    """One whole message held in ``frame`` (EOFError if it is cut short)."""
    data, at = memoryview(frame), 0

    def readinto(view: memoryview) -> None:
        nonlocal at
        piece = data[at : at + len(view)]
        if len(piece) != len(view):
            raise EOFError(f"frame ended after {len(piece)} of {len(view)} bytes")
        view[:] = piece
        at += len(view)

    return read_frame(readinto)


def _entries(index: Any) -> list[tuple[str, str, tuple[int, ...], int]]:
    """The index's ``(name, dtype, shape, nbytes)``; FrameError for anything else."""
    if not isinstance(index, list):
        raise FrameError("the array index is not a list")
    out: list[tuple[str, str, tuple[int, ...], int]] = []
    for entry in index:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str) and isinstance(entry[2], list)):
            raise FrameError(f"array index entry {str(entry)[:80]!r} is not [name, dtype, shape]")
        name, dtype, shape = entry
        if not (isinstance(dtype, str) and carried(dtype)):
            raise FrameError(f"array {name!r} has dtype {str(dtype)[:20]!r}, which frames do not carry")
        if not all(type(n) is int and 0 <= n for n in shape) or len(shape) > 32:
            raise FrameError(f"array {name!r} has shape {str(shape)[:80]}, not up to 32 sizes >= 0")
        if any(name == seen for seen, *_ in out):
            raise FrameError(f"array {name!r} appears twice in the index")
        out.append((name, dtype, tuple(shape), math.prod(shape) * np.dtype(dtype).itemsize))
    return out


def _contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` in C order, copied only if it is not (np.ascontiguousarray would make a 0-d array 1-d)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


def _read_json(readinto: Callable[[memoryview], None], size: int, what: str) -> Any:
    if size > MAX_JSON:
        raise FrameError(f"{what} of {size} bytes declared (at most {MAX_JSON})")
    raw = bytearray(size)
    readinto(memoryview(raw))
    try:
        value = json.loads(raw)
    except ValueError as exc:  # also bad UTF-8
        raise FrameError(f"{what} is not JSON ({exc})") from None
    if what == "header" and not isinstance(value, dict):
        raise FrameError("the header is not a JSON object")
    return value


def _read_size(readinto: Callable[[memoryview], None]) -> int:
    raw = bytearray(_LEN.size)
    readinto(memoryview(raw))
    return _field(bytes(raw), 0)


def _size(raw: bytes) -> int:
    """A length field's value; EOFError when the stream ended inside it."""
    if len(raw) != _LEN.size:
        raise EOFError(f"stream ended after {len(raw)} of {_LEN.size} bytes of a length")
    return _field(raw, 0)


def _field(frame: bytes, at: int) -> int:
    """The length field at byte ``at`` of ``frame``."""
    value: int = _LEN.unpack_from(frame, at)[0]
    return value


def _fill(stream: BinaryIO, view: memoryview) -> None:
    """Fill ``view`` from ``stream``; EOFError when the stream ends first."""
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            raise EOFError(f"stream ended after {got} of {len(view)} bytes")
        got += n

