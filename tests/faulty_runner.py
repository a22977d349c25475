"""A runner that misbehaves on request, to prove that workers contain crashes and hangs."""
from __future__ import annotations

import ctypes
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
    print("noise on stdout must not corrupt the protocol")
    return {"out": arrays["features"] * 2}
