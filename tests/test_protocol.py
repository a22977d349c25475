"""The worker wire protocol (parity.engine.protocol), the one codec both ends use.

Frames are built here by hand from the format the module documents (8-byte big-endian header
length, JSON header, 8-byte big-endian payload length, payload = 8-byte index length, JSON index
of ``[name, dtype, shape]``, raw C-order bytes), not with its encoder.
"""
import io
import json
import struct

import numpy as np
import pytest

from parity.engine import protocol


def _q(n: int) -> bytes:
    return struct.pack(">Q", n)


def _frame(header: dict, arrays: dict, index=None, body=None, payload_len=None) -> bytes:
    head = json.dumps(header).encode()
    payload = b""
    if arrays or index is not None:
        idx = json.dumps(index if index is not None else [[k, v.dtype.str, list(v.shape)] for k, v in arrays.items()]).encode()
        data = body if body is not None else b"".join(np.ascontiguousarray(v).tobytes() for v in arrays.values())
        payload = _q(len(idx)) + idx + data
    return _q(len(head)) + head + _q(len(payload) if payload_len is None else payload_len) + payload


HEADER = {"case_id": "c1", "status": "ok", "message": "", "seconds": 0.5}
ARRAYS = {"out": np.arange(6, dtype=np.float32).reshape(2, 3)}


def test_a_hand_built_frame_reads_back_and_equals_the_encoder():
    frame = _frame(HEADER, ARRAYS)
    assert protocol.encode(HEADER, ARRAYS) == frame
    header, arrays = protocol.read_message(io.BytesIO(frame))
    assert header == HEADER and list(arrays) == ["out"]
    np.testing.assert_array_equal(arrays["out"], ARRAYS["out"])
    assert arrays["out"].dtype == np.float32


def test_every_kind_of_array_round_trips_bit_for_bit():
    """0-d, empty, non-contiguous, big-endian, bool, NaN payloads and signed zeros come back as sent."""
    rng = np.random.default_rng(0)
    sent = {
        "scalar": np.array(np.float64(-0.0)),
        "empty": np.zeros((0, 3), np.float16),
        "transposed": rng.standard_normal((3, 4)).T,
        "big_endian": np.arange(5, dtype=">i4"),
        "flags": np.array([True, False]),
        "nan_bits": np.array([0x7FF8000000000001, 0xFFF0000000000000], np.uint64).view(np.float64),
        "complex": np.array([1 + 2j], np.complex64),
        "text": np.array(["window outside the image", "é"]),
        "bytes": np.array([b"ab", b""]),
    }
    stream = io.BytesIO()
    protocol.write_frame(stream, {"k": 1}, sent)
    assert stream.getvalue() == protocol.encode({"k": 1}, sent)
    _, got = protocol.decode(stream.getvalue())
    assert list(got) == list(sent)
    for name, a in sent.items():
        assert got[name].dtype == a.dtype and got[name].shape == a.shape, name
        assert np.ascontiguousarray(a).tobytes() == got[name].tobytes(), name


def test_two_messages_then_a_clean_end_of_stream():
    stream = io.BytesIO(_frame({"n": 1}, {}) + _frame({"n": 2}, ARRAYS))
    assert protocol.read_message(stream) == ({"n": 1}, {})
    assert protocol.read_message(stream)[0] == {"n": 2}
    assert protocol.read_message(stream) is None


def test_read_frame_fills_the_arrays_it_returns():
    """The driver's way (parity.engine.pool): its own reads into the buffers the codec hands out."""
    stream = io.BytesIO(_frame(HEADER, ARRAYS))
    asked = []

    def readinto(view: memoryview) -> None:
        asked.append(len(view))
        assert stream.readinto(view) == len(view)

    header, arrays = protocol.read_frame(readinto)
    assert header == HEADER
    np.testing.assert_array_equal(arrays["out"], ARRAYS["out"])
    head = len(json.dumps(HEADER).encode())
    index = len(json.dumps([["out", "<f4", [2, 3]]]).encode())
    assert asked == [8, head, 8, 8, index, 24]  # lengths, header, index, one array's 24 bytes


@pytest.mark.parametrize("keep", [3, 8, 8 + 5, 8 + len(json.dumps(HEADER)) + 4, 8 + len(json.dumps(HEADER)) + 8 + 5, -1, -23])
def test_a_frame_cut_anywhere_is_an_end_of_stream_error(keep):
    """A writer that died mid-frame (even inside a length field or an array) reads as EOFError,
    never as a misread length or a struct error."""
    frame = _frame(HEADER, ARRAYS)
    with pytest.raises(EOFError):
        protocol.read_message(io.BytesIO(frame[:keep]))
    assert not protocol.complete(frame[:keep]) and protocol.complete(frame)


@pytest.mark.parametrize("dtype", ["|O", "<M8[s]", "|V8", "<U0", "|U3", "<U99999999", "float64", "<f4; import os", 7])
def test_an_unknown_dtype_is_refused_and_nothing_unpickles(dtype):
    frame = _frame({}, {}, index=[["x", dtype, [1]]], body=b"\0" * 8)
    with pytest.raises(protocol.FrameError, match="dtype"):
        protocol.decode(frame)


def test_the_encoder_refuses_object_arrays():
    with pytest.raises(protocol.FrameError, match="dtype"):
        protocol.encode({}, {"obj": np.array([{"a": 1}], dtype=object)})


@pytest.mark.parametrize(
    "index, body, why",
    [
        ([["x", "<f8", [2, 3]]], b"\0" * 40, "declared"),  # 48 bytes declared, 40 sent
        ([["x", "<f8", [2]]], b"\0" * 24, "declared"),  # fewer declared than sent
        ([["x", "<f8", [-1]]], b"", "shape"),
        ([["x", "<f8", [1.5]]], b"\0" * 8, "shape"),
        ([["x", "<f8", [True]]], b"\0" * 8, "shape"),
        ([["x", "<f8", [1 << 40, 1 << 40]]], b"", "declared"),  # a petabyte promised in an empty payload
        ([["x", "<f8"]], b"", "entry"),
        ({"x": 1}, b"", "list"),
        ([["x", "<f8", [1]], ["x", "<f8", [1]]], b"\0" * 16, "twice"),
    ],
)
def test_a_lying_index_is_a_frame_error(index, body, why):
    with pytest.raises(protocol.FrameError, match=why):
        protocol.decode(_frame({}, {}, index=index, body=body))


def test_lying_lengths_are_frame_errors_before_anything_is_allocated():
    head = json.dumps({}).encode()
    with pytest.raises(protocol.FrameError, match="header"):  # a header of 2**63 bytes
        protocol.decode(_q(1 << 63) + head)
    with pytest.raises(protocol.FrameError, match="index length"):
        protocol.decode(_q(len(head)) + head + _q(3) + b"abc")
    with pytest.raises(protocol.FrameError, match="index of"):  # index longer than its payload
        protocol.decode(_q(len(head)) + head + _q(10) + _q(1 << 40) + b"xy")
    with pytest.raises(protocol.FrameError, match="JSON"):
        protocol.decode(_q(4) + b"\xff{}}" + _q(0))
    with pytest.raises(protocol.FrameError, match="object"):
        protocol.decode(_q(2) + b"[]" + _q(0))


def test_a_payload_longer_than_its_arrays_is_refused():
    frame = _frame(HEADER, ARRAYS)
    index = json.dumps([["out", "<f4", [2, 3]]]).encode()
    padded = _frame(HEADER, {}, index=[["out", "<f4", [2, 3]]], body=ARRAYS["out"].tobytes() + b"\0" * 8)
    assert len(padded) == len(frame) + 8 and index in padded
    with pytest.raises(protocol.FrameError, match="declared"):
        protocol.decode(padded)


def test_a_huge_consistent_promise_is_an_error_not_a_crash():
    """Lengths that agree but promise a terabyte: refused at allocation, or the stream ends first."""
    index = [["x", "|u1", [1 << 40]]]
    idx = json.dumps(index).encode()
    frame = _frame({}, {}, index=index, body=b"", payload_len=8 + len(idx) + (1 << 40))
    with pytest.raises((protocol.FrameError, EOFError)):
        protocol.decode(frame)
