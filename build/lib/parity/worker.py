"""Worker process: imports one framework once, then runs cases sent over a pipe.

Started by parity.pool as ``python -m parity.worker RUNNER_MODULE``.  The protocol owns the original
stdout; fd 1 is pointed at stderr so that anything a framework prints cannot corrupt it.
A native crash kills only this process; the driver reports it as CRASH and restarts us.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import sys
import time
import traceback

import numpy as np

from parity import protocol
from parity.errors import Unsupported


def _first_lines(exc: BaseException) -> str:
    """A framework's error without its multi-screen C++ call stack."""
    text = str(exc).split("\n----")[0].strip()
    lines = [ln for ln in text.splitlines() if ln.strip()][:3]
    return f"{type(exc).__name__}: {' '.join(lines)}"[:500]


def _repeat(module: object, header: dict, arrays: dict, first: dict) -> dict:
    """Run the case ``repeat`` times in all: per output, distinct bit patterns and spread from the first."""
    digests = {k: {hashlib.sha256(v.tobytes()).hexdigest()} for k, v in first.items()}
    spread = dict.fromkeys(first, 0.0)
    for _ in range(int(header["repeat"]) - 1):
        again = module.run(header, arrays)  # type: ignore[attr-defined]
        for k, v in again.items():
            digests[k].add(hashlib.sha256(v.tobytes()).hexdigest())
            with np.errstate(invalid="ignore"):
                diff = np.abs(v.astype(np.float64) - first[k].astype(np.float64))
            spread[k] = max(spread[k], float(np.nanmax(diff)) if diff.size else 0.0)
    return {k: {"distinct": len(digests[k]), "spread": spread[k]} for k in first}


def main(argv: list[str]) -> int:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    module = importlib.import_module(argv[1])
    out.write(protocol.encode({"hello": argv[1], "versions": module.versions(), "pid": os.getpid()}, {}))
    out.flush()
    while True:
        msg = protocol.read_message(inp)
        if msg is None:
            return 0
        header, arrays = msg
        start = time.perf_counter()
        outputs: dict = {}
        determinism: dict = {}
        try:
            outputs = module.run(header, arrays)
            if int(header.get("repeat", 1)) > 1:
                determinism = _repeat(module, header, arrays, outputs)
            status, message = "ok", ""
        except Unsupported as exc:
            status, message = "unsupported", str(exc)
        except Exception as exc:  # a framework raising is a result, not our failure
            status, message = "error", _first_lines(exc)
            if os.environ.get("PARITY_DEBUG"):
                traceback.print_exc()
        reply = {"status": status, "message": message, "seconds": time.perf_counter() - start, "determinism": determinism}
        out.write(protocol.encode(reply, outputs))
        out.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
