"""A runner that misbehaves on request, to prove that workers contain crashes and hangs."""
from __future__ import annotations

import ctypes
import json
import struct
import time
from typing import Any

import numpy as np

from parity.engine.errors import native


def versions() -> dict[str, str]:
    return {"faulty": "1"}


def run(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    action = header["case_id"]
    if action == "segfault":
        ctypes.string_at(0)
    if action == "slow-segfault":  # slower than restarting this worker
        time.sleep(1.5)
        ctypes.string_at(0)
    if action == "hang":
        time.sleep(3600)
    if action == "raise":
        with native("faulty"):
            raise RuntimeError("bad input\n----\nC++ call stack that must not reach the report")
    if action == "mapping-bug":  # parity's own code failing before the native call
        raise KeyError("output_size")
    if action in ("lying-reply", "cut-reply"):
        _spoil_next_reply(action)
    if action == "pid":  # which process ran the case
        import os

        return {"out": np.array([os.getpid()])}
    if action == "text":  # a message beside the numbers, as the reference sends a refused semantics'
        return {"out": arrays["features"] * 2, "why": np.array("InvalidInput: window outside the image")}
    print("noise on stdout must not corrupt the protocol")
    return {"out": arrays["features"] * 2}


def _spoil_next_reply(action: str) -> None:
    """The worker's next reply frame lies (an object array, which frames never carry) or breaks off
    five bytes before its end, the worker exiting (3): the driver must report, not crash."""
    import os

    from parity.engine import protocol

    real = protocol.write_frame

    def spoiled(stream: Any, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        protocol.write_frame = real
        if action == "cut-reply":
            stream.write(protocol.encode(header, arrays)[:-5])
            stream.flush()
            os._exit(3)
        head, index = json.dumps(header).encode(), json.dumps([["out", "|O", [3]]]).encode()
        q = struct.Struct(">Q").pack
        stream.write(q(len(head)) + head + q(8 + len(index) + 24) + q(len(index)) + index + bytes(24))

    protocol.write_frame = spoiled
