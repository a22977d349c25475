"""The worker wire protocol (parity.engine.protocol), the one codec both ends use.

Frames are built here by hand from the format the module documents (8-byte big-endian header
length, JSON header, 8-byte big-endian payload length, .npz payload), not with its encoder.
"""
import io
import json
import struct

import numpy as np
import pytest

from parity.engine import protocol


def _frame(header: dict, arrays: dict) -> bytes:
    head = json.dumps(header).encode()
    body = b""
    if arrays:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        body = buf.getvalue()
    return struct.pack(">Q", len(head)) + head + struct.pack(">Q", len(body)) + body


HEADER = {"case_id": "c1", "status": "ok", "message": "", "seconds": 0.5}
ARRAYS = {"out": np.arange(6, dtype=np.float32).reshape(2, 3)}


def test_a_hand_built_frame_reads_back_and_equals_the_encoder():
    frame = _frame(HEADER, ARRAYS)
    assert protocol.encode(HEADER, ARRAYS) == frame
    header, arrays = protocol.read_message(io.BytesIO(frame))
    assert header == HEADER and list(arrays) == ["out"]
    np.testing.assert_array_equal(arrays["out"], ARRAYS["out"])
    assert arrays["out"].dtype == np.float32


def test_two_messages_then_a_clean_end_of_stream():
    stream = io.BytesIO(_frame({"n": 1}, {}) + _frame({"n": 2}, ARRAYS))
    assert protocol.read_message(stream) == ({"n": 1}, {})
    assert protocol.read_message(stream)[0] == {"n": 2}
    assert protocol.read_message(stream) is None


def test_read_frame_over_a_reader_that_hands_out_exact_pieces():
    """The driver's way (parity.engine.pool): its own reads, each bound by the case's deadline."""
    stream = io.BytesIO(_frame(HEADER, ARRAYS))
    asked = []

    def read(n: int) -> bytes:
        asked.append(n)
        return stream.read(n)

    header, arrays = protocol.read_frame(read)
    assert header == HEADER
    np.testing.assert_array_equal(arrays["out"], ARRAYS["out"])
    head = len(json.dumps(HEADER).encode())
    assert asked[:3] == [8, head, 8] and len(asked) == 4  # length, header, length, payload


@pytest.mark.parametrize("keep", [3, 8, 8 + 5, 8 + len(json.dumps(HEADER)) + 4, -1])
def test_a_frame_cut_anywhere_is_an_end_of_stream_error(keep):
    """A writer that died mid-frame (even inside a length field) reads as EOFError, never as a
    misread length or a struct error."""
    frame = _frame(HEADER, ARRAYS)
    with pytest.raises(EOFError):
        protocol.read_message(io.BytesIO(frame[:keep]))
    assert not protocol.complete(frame[:keep]) and protocol.complete(frame)


def test_payloads_never_unpickle():
    buf = io.BytesIO()
    np.savez(buf, obj=np.array([{"a": 1}], dtype=object))
    body = buf.getvalue()
    head = json.dumps({}).encode()
    frame = struct.pack(">Q", len(head)) + head + struct.pack(">Q", len(body)) + body
    with pytest.raises(ValueError):
        protocol.read_message(io.BytesIO(frame))
