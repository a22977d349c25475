"""Framing between the driver and worker processes: a JSON header plus an .npz payload.

Arrays travel as ``.npz`` bytes loaded with ``allow_pickle=False``: data, never code.
Frame = 8-byte big-endian header length, header JSON, 8-byte payload length, payload.
This module is the one codec of that frame: the worker reads requests with read_message, the
driver (parity.engine.pool) reads replies with read_frame over its own deadline-bound reads.
"""
from __future__ import annotations

import io
import json
import struct
from typing import Any, BinaryIO, Callable

import numpy as np

_LEN = struct.Struct(">Q")
#: Reply status of a request on which parity's own code failed in the worker (not a Status:
#: it is never a framework's result; the driver raises parity.engine.errors.ParityFailure).
PARITY_FAILURE = "parity_failure"
#: One decoded message: the header and the payload's arrays.
Message = tuple[dict[str, Any], dict[str, np.ndarray]]


def encode(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """Serialize one message."""
    head = json.dumps(header).encode()
    buf = io.BytesIO()
    if arrays:
        # numpy's default, spelled out so that **arrays cannot supply it; the reader
        # (decode_payload) loads with allow_pickle=False.
        np.savez(buf, allow_pickle=True, **arrays)
    body = buf.getvalue()
    return _LEN.pack(len(head)) + head + _LEN.pack(len(body)) + body


def complete(frame: bytes) -> bool:
    """Whether ``frame`` is exactly one whole message (a writer that died mid-way leaves less)."""
    if len(frame) < _LEN.size:
        return False
    at = _LEN.size + _field(frame, 0)
    if len(frame) < at + _LEN.size:
        return False
    return len(frame) == at + _LEN.size + _field(frame, at)


def decode_payload(body: bytes) -> dict[str, np.ndarray]:
    """Arrays of a payload (empty payload -> no arrays)."""
    if not body:
        return {}
    with np.load(io.BytesIO(body), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def read_frame(read: Callable[[int], bytes], length: bytes | None = None) -> Message:
    """Decode one message from ``read(n)``, which returns exactly ``n`` bytes or raises.

    ``length`` is the frame's first 8 bytes when the caller has already read them (to tell a
    clean end of stream from a message).  A reader that returns fewer bytes than asked raises
    EOFError here rather than misreading a length.
    """
    head = read(_size(length if length is not None else read(_LEN.size)))
    body = read(_size(read(_LEN.size)))
    return json.loads(head), decode_payload(body)


def read_message(stream: BinaryIO) -> Message | None:
    """Read one message from a blocking stream; ``None`` at a clean end of stream."""
    raw = stream.read(_LEN.size)
    if not raw:
        return None
    return read_frame(lambda n: _read_exact(stream, n), raw)


def _size(raw: bytes) -> int:
    """A length field's value; EOFError when the stream ended inside it."""
    if len(raw) != _LEN.size:
        raise EOFError(f"stream ended after {len(raw)} of {_LEN.size} bytes of a length")
    return _field(raw, 0)


def _field(frame: bytes, at: int) -> int:
    """The length field at byte ``at`` of ``frame``."""
    value: int = _LEN.unpack_from(frame, at)[0]
    return value


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise EOFError(f"stream ended after {len(data)} of {n} bytes")
    return data
