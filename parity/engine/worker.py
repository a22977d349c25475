"""Worker process: imports one framework once, then runs cases sent over a pipe.

Started by parity.engine.pool as ``python -m parity.engine.worker RUNNER_MODULE``.  The protocol owns the original
stdout; fd 1 is pointed at stderr so that anything a framework prints cannot corrupt it.
A native crash kills only this process; the driver reports it as CRASH and restarts us.  Only what
a framework raises inside its native call (parity.engine.errors.native) is reported as its ERROR; any
other exception is parity's own failure (status ``parity_failure``), which the driver never
blames on the framework.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import signal
import sys
import time
import traceback
from typing import Any, BinaryIO, NoReturn

import numpy as np

from parity.engine import protocol
from parity.engine.memory import prefer_small_pages
from parity.engine.pool import signal_name
from parity.engine.errors import FrameworkError, Unsupported


def _first_lines(exc: BaseException) -> str:
    """A framework's error without its multi-screen C++ call stack."""
    text = str(exc).split("\n----")[0].strip()
    lines = [ln for ln in text.splitlines() if ln.strip()][:3]
    return f"{type(exc).__name__}: {' '.join(lines)}"[:500]


def _where(exc: BaseException) -> str:
    """The innermost frame of a traceback, ``file:line in function`` (where parity's code failed)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown place"
    f = frames[-1]
    return f"{os.path.relpath(f.filename) if not f.filename.startswith('<') else f.filename}:{f.lineno} in {f.name}"


def _repeat(module: object, header: dict[str, Any], arrays: dict[str, np.ndarray], first: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
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


def execute(module: object, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Run one request; returns the reply header and the outputs."""
    start = time.perf_counter()
    outputs: dict[str, np.ndarray] = {}
    determinism: dict[str, dict[str, Any]] = {}
    try:
        outputs = module.run(header, arrays)  # type: ignore[attr-defined]
        if int(header.get("repeat", 1)) > 1:
            determinism = _repeat(module, header, arrays, outputs)
        status, message = "ok", ""
    except Unsupported as exc:
        status, message = "unsupported", str(exc)
    except FrameworkError as exc:  # raised by the framework's own call (parity.engine.errors.native): a result
        outputs = {}
        status, message = "error", _first_lines(exc.__cause__ or exc)
        if os.environ.get("PARITY_DEBUG"):
            traceback.print_exc()
    except Exception as exc:  # parity's own code failed (mapping, validation, conversion): never a result
        outputs = {}
        status, message = protocol.PARITY_FAILURE, f"{_first_lines(exc)} at {_where(exc)}"
        traceback.print_exc()  # to the worker's log (stderr)
    reply = {"status": status, "message": message, "seconds": time.perf_counter() - start, "determinism": determinism}
    return reply, outputs


def _die_with_parent() -> None:
    """A forked child is killed with this worker (a driver that kills us on a timeout kills it too)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass


class _Sandbox:
    """A child forked from this warm worker that runs the isolated requests, one after another.

    The driver asks for isolation once a framework has crashed on a case like this one
    (parity.engine.pool.CRASHES_BEFORE_FORKING): a crash then kills the child, not the worker, and
    the next such case costs one fork instead of a fresh interpreter and framework import.  The
    child lives on until a case kills it: a fork per case took 13 ms of a torchvision worker (most
    of it the kernel copying and tearing down a 700 MB address space), about 1900 times in a
    10000-case random suite.  Its cases share one process, as a worker's cases always do.
    """

    def __init__(self) -> None:
        self.pid = 0
        self.requests: BinaryIO | None = None
        self.replies: BinaryIO | None = None

    def run(self, module: object, header: dict[str, Any], arrays: dict[str, np.ndarray], driver: tuple[int, ...]) -> bytes:
        """The framed reply to one request; ``driver``: this worker's pipes to the driver, which
        the child closes so that only this worker speaks to the driver (and its death is seen)."""
        start = time.perf_counter()
        if not self.pid:
            self._fork(module, driver)
        assert self.requests is not None and self.replies is not None
        try:
            protocol.write_frame(self.requests, header, arrays)
            self.requests.flush()
            reply = protocol.read_message(self.replies)
        except (OSError, EOFError, protocol.FrameError):
            reply = None
        if reply is not None:
            return protocol.encode(*reply)
        return protocol.encode({"status": "crash", "message": f"worker process died ({self._reap()}) [in a child forked from "
                                "the warm worker]", "seconds": time.perf_counter() - start, "determinism": {}}, {})

    def _fork(self, module: object, driver: tuple[int, ...]) -> None:
        to_child, requests = os.pipe()
        replies, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: serve requests until the worker closes the pipe, exit without any cleanup
            code = 0
            try:
                for fd in (requests, replies, *driver):
                    os.close(fd)
                _die_with_parent()
                with os.fdopen(to_child, "rb") as inp, os.fdopen(from_child, "wb") as out:
                    while (msg := protocol.read_message(inp)) is not None:
                        protocol.write_frame(out, *execute(module, *msg))
                        out.flush()
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        os.close(to_child)
        os.close(from_child)
        self.pid, self.requests, self.replies = pid, os.fdopen(requests, "wb"), os.fdopen(replies, "rb")

    def _reap(self) -> str:
        """Close the dead child's pipes and wait for it: how it ended, in words."""
        for pipe in (self.requests, self.replies):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:  # a request left unwritten in a pipe nobody reads
                pass
        _, wait_status = os.waitpid(self.pid, 0)
        self.pid, self.requests, self.replies = 0, None, None
        return signal_name(os.waitstatus_to_exitcode(wait_status))  # negative: the signal, as Popen's returncode


_sandbox = _Sandbox()


def _exit_now(out: Any) -> NoReturn:
    """End of stream: flush the replies and the log, then leave without the interpreter's teardown.

    Everything this process owes the driver is written by now; what is left is the frameworks'
    own exit handlers and module teardown, which took 0.3-0.6 s per worker (torchvision,
    MindSpore) at the end of every run, as long as the rest of a default-suite run's judging.
    """
    out.flush()
    sys.stdout.flush()  # fd 1 is the log (stderr) here
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str]) -> int:
    prefer_small_pages()  # large cases allocate result-sized arrays by the gigabyte (parity.engine.memory)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    module = importlib.import_module(argv[1])
    out.write(protocol.encode({"hello": argv[1], "versions": module.versions(), "pid": os.getpid()}, {}))
    out.flush()
    while True:
        msg = protocol.read_message(inp)
        if msg is None:
            _exit_now(out)
        header, arrays = msg
        if header.get("isolate"):
            out.write(_sandbox.run(module, header, arrays, (0, out.fileno())))
        else:
            reply, outputs = execute(module, header, arrays)
            protocol.write_frame(out, reply, outputs)
        out.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
