"""Driver side of the worker processes: start, send, receive with a deadline, restart.

One persistent worker per runner, so framework imports are paid once per run.  A worker that
dies mid-case yields a CRASH result naming the signal; one that exceeds the timeout is killed
and yields TIMEOUT; both are restarted lazily before their next case.
"""
from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from parity import protocol
from parity.errors import UsageError
from parity.model import RunResult, Status
from parity.runners import RUNNERS

#: Seconds a worker may take to import its framework and say hello.
START_TIMEOUT = 180.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def worker_env() -> dict[str, str]:
    """An explicit environment: one thread per worker (workers run side by side), parity importable."""
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GLOG_v": "3"})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    return env


def signal_name(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


class _Died(Exception):
    pass


@dataclass
class Worker:
    """A persistent worker process for one runner.

    Requests are written by a writer thread, so the driver can queue the next case while the
    worker computes this one (pipelining) without ever blocking on a full pipe.  Requests stay
    in ``pending`` until their result is read: if the worker dies or times out, the case being
    read is reported as CRASH or TIMEOUT and the ones queued behind it are re-sent to a fresh
    worker.
    """

    runner: str
    log_path: Path
    module: str = ""  # runner module; defaults to the registry's (parity.runners.RUNNERS)
    python: str = sys.executable
    timeout: float = 60.0
    proc: subprocess.Popen[bytes] | None = None
    versions: dict[str, str] | None = None
    env: dict[str, str] | None = None  # the worker's environment; default worker_env()
    pending: deque[tuple[str, bytes]] = field(default_factory=deque)
    _outbox: queue.Queue[bytes | None] | None = None

    def start(self) -> None:
        if not Path(self.python).exists():
            raise UsageError(f"interpreter for {self.runner} not found: {self.python}; pass an existing --python path")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.python, "-m", "parity.worker", self.module or RUNNERS[self.runner]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=self.env if self.env is not None else worker_env(),
        )
        log.close()
        self._outbox = queue.Queue()
        threading.Thread(target=_write_all, args=(self.proc.stdin, self._outbox), daemon=True).start()

    def handshake(self) -> None:
        """Wait for the worker's hello (its imports done)."""
        try:
            header, _ = self._receive(time.monotonic() + START_TIMEOUT)
        except (_Died, TimeoutError) as exc:
            self.stop()
            raise UsageError(
                f"the {self.runner} worker failed to start ({exc}); see {self.log_path} "
                f"(is {self.runner} installed for {self.python}?)"
            ) from None
        self.versions = header["versions"]

    def ensure_started(self) -> None:
        """Start a worker if none runs, and hand it every request still waiting for a result."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            self.handshake()
            assert self._outbox is not None
            for _, message in self.pending:
                self._outbox.put(message)

    def send(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Queue one case (``header["case_id"]``); results come back in order through receive()."""
        self.ensure_started()
        message = protocol.encode(header, arrays)
        self.pending.append((header.get("case_id", ""), message))
        assert self._outbox is not None
        self._outbox.put(message)

    def receive(self, case_id: str) -> RunResult:
        """The result of the oldest case sent (``case_id``), or CRASH/TIMEOUT."""
        assert self.pending and self.pending[0][0] == case_id, "results are received in the order sent"
        start = time.monotonic()
        try:
            header, arrays = self._receive(start + self.timeout)
        except _Died as exc:
            return self._lost(RunResult(case_id, self.runner, Status.CRASH, message=str(exc), seconds=time.monotonic() - start))
        except TimeoutError:
            self.kill()
            message = f"no result after {self.timeout:g} s; worker killed"
            return self._lost(RunResult(case_id, self.runner, Status.TIMEOUT, message=message, seconds=time.monotonic() - start))
        self.pending.popleft()
        status = Status(header["status"])
        return RunResult(case_id, self.runner, status, arrays, header["message"], header["seconds"], header.get("determinism", {}))

    def _lost(self, result: RunResult) -> RunResult:
        """The worker is gone with this case: drop it, and restart for the cases queued behind it."""
        self.pending.popleft()
        self.proc = None
        if self.pending:
            self.ensure_started()
        return result

    def _receive(self, deadline: float) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        head_len = int.from_bytes(self._read(fd, 8, deadline), "big")
        header = protocol.json.loads(self._read(fd, head_len, deadline))
        body_len = int.from_bytes(self._read(fd, 8, deadline), "big")
        return header, protocol.decode_payload(self._read(fd, body_len, deadline))

    def _read(self, fd: int, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while n > 0:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                assert self.proc is not None
                code = self.proc.wait()
                self.proc = None
                raise _Died(f"worker process died ({signal_name(code)})")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        """End of stream for the worker (it exits); kill it if it lingers."""
        if self.proc is None:
            return
        assert self._outbox is not None
        self._outbox.put(None)  # the writer closes stdin after what it still has to write
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def _write_all(stdin: Any, outbox: queue.Queue[bytes | None]) -> None:
    """Writer thread: send queued requests in order; close stdin at the end (None) or when the worker is gone."""
    try:
        while (message := outbox.get()) is not None:
            stdin.write(message)
            stdin.flush()
    except (OSError, ValueError):
        pass  # the worker died: the reader sees it and reports CRASH
    finally:
        try:
            stdin.close()
        except OSError:
            pass
