"""Driver side of the worker processes: start, send, receive with a deadline, restart.

One persistent worker per runner, so framework imports are paid once per run.  A worker that
dies mid-case yields a CRASH result naming the signal; one that exceeds the timeout is killed
and yields TIMEOUT; both are restarted lazily before their next case, from a spare process
started after the first restart.
"""
from __future__ import annotations

import fcntl
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
from typing import Any, NamedTuple

import numpy as np

from parity.engine import protocol
from parity.engine.errors import ParityFailure, UsageError
from parity.engine.model import RunResult, Status

#: Seconds a worker may take to import its framework and say hello.
START_TIMEOUT = 180.0
#: The largest per-case timeout accepted (a day): beyond it a deadline means "never", and
#: select() overflows on values like 1e300.
MAX_TIMEOUT = 86400.0
#: Crashes on cases of one structure (parity.engine.pool.structure), in a row or not, after which the
#: runner's next cases of that structure run in a child forked from its warm worker (no restart per
#: crash).  One: the child serves case after case (parity.engine.worker._Sandbox), 0.4 ms a case
#: more than the worker itself, while a restart costs an interpreter and a framework import (a
#: torchvision worker: 2-2.5 s of CPU, each time), and a framework that dies on one robustness
#: case in four (torchvision on NaN coordinates) would otherwise pay one for each.
CRASHES_BEFORE_FORKING = 1
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


def check_timeout(seconds: float, option: str = "--timeout") -> float:
    """A per-case timeout must be finite, positive and at most MAX_TIMEOUT (one line otherwise)."""
    if not (0 < seconds <= MAX_TIMEOUT):  # also False for NaN
        raise UsageError(
            f"{option} must be a number of seconds in (0, {MAX_TIMEOUT:g}]; got {seconds!r}. "
            "It is how long one case may run before its worker is killed (default 60)"
        )
    return float(seconds)


#: What makes cases "alike" (:func:`structure`): strings, header values and a flag.
Structure = tuple[object, ...]


def structure(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Structure:
    """What makes cases "alike" for crash containment: input dtypes and ranks, box form, layout,
    and whether the call is raw (robustness); not the values or the attributes."""
    return (
        *(f"{k}:{v.dtype}:{v.ndim}" for k, v in sorted(arrays.items())),
        header.get("boxes"),
        header.get("layout"),
        bool(header.get("raw")),
    )


class _Request(NamedTuple):
    case_id: str
    message: protocol.Parts  # the frame's pieces (parity.engine.protocol.frame_parts), kept for a re-send
    timeout: float
    structure: Structure
    isolated: bool  # sent to run in a child forked from the warm worker


class _Died(Exception):
    pass


def _default_module(runner: str) -> str:
    from parity import ops

    return ops.get(ops.DEFAULT_OP).runners[runner]


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
    module: str = ""  # runner module; defaults to the default op's runner of this name (parity.ops)
    python: str = sys.executable
    timeout: float = 60.0
    proc: subprocess.Popen[bytes] | None = None
    versions: dict[str, str] | None = None
    env: dict[str, str] | None = None  # the worker's environment; default worker_env()
    pending: deque[_Request] = field(default_factory=deque)
    notices: list[str] = field(default_factory=list)  # what the driver should tell the user (crash containment)
    _outbox: queue.Queue[protocol.Parts | None] | None = None
    _crashes: dict[Structure, int] = field(default_factory=dict)  # structure -> crashes so far
    _isolated: set[Structure] = field(default_factory=set)  # structures run in forked children
    _forks_slow: bool = False  # a forked child was measured slower than a restart: never fork again
    _startup: float = 0.0  # seconds the last fresh start took (imports and hello): what a restart costs
    _spare: subprocess.Popen[bytes] | None = None  # started, not yet handed any request (after a first restart)
    _fresh: bool = True  # the running process was started for itself, not promoted from spare

    def start(self) -> None:
        """Start the worker: the spare started after an earlier loss if it is alive (its imports
        done or under way), else a fresh process."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            self.proc, self._fresh = spare, False
        else:
            if spare is not None:
                spare.wait()
            self.proc, self._fresh = self._spawn(), True
        self._outbox = queue.Queue()
        threading.Thread(target=_write_all, args=(self.proc.stdin, self._outbox), daemon=True).start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        if not Path(self.python).exists():
            raise UsageError(f"interpreter for {self.runner} not found: {self.python}; pass an existing --python path")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        proc = subprocess.Popen(
            [self.python, "-m", "parity.engine.worker", self.module or _default_module(self.runner)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=self.env if self.env is not None else worker_env(),
        )
        log.close()
        _widen_pipes(proc)
        return proc

    def handshake(self) -> None:
        """Wait for the worker's hello (its imports done)."""
        began = time.monotonic()
        try:
            header, _ = self._receive(time.monotonic() + START_TIMEOUT)
        except (_Died, TimeoutError) as exc:
            if not self._fresh:  # a spare that failed while importing: a fresh process gets its own chance
                self.kill()
                self.start()
                self.handshake()
                return
            self.stop()
            raise UsageError(
                f"the {self.runner} worker failed to start ({exc}); see {self.log_path} "
                f"(is {self.runner} installed for {self.python}?)"
            ) from None
        self.versions = header["versions"]
        if self._fresh:  # a spare's hello was waiting: that says nothing of what a restart costs
            self._startup = time.monotonic() - began

    def ensure_started(self) -> None:
        """Start a worker if none runs, and hand it every request still waiting for a result.

        From the first restart on, a spare process is kept started: a runner that lost one worker
        (a crash, a timeout) may lose more, and a restart then costs the handshake, not the
        framework's imports (torchvision: 2 s).  The first spare starts with the first
        replacement, while the driver and the other workers wait for it anyway.
        """
        if self.proc is None or self.proc.poll() is not None:
            restart = self.versions is not None
            self.start()
            if restart and self._spare is None:
                try:
                    self._spare = self._spawn()
                except (OSError, UsageError):  # no spare this time (fork refused, interpreter gone): restarts cost the imports
                    self._spare = None
            self.handshake()
            assert self._outbox is not None
            for request in self.pending:
                self._outbox.put(request.message)

    def send(self, header: dict[str, Any], arrays: dict[str, np.ndarray], timeout: float | None = None, risky: bool = False) -> None:
        """Queue one case (``header["case_id"]``); results come back in order through receive().

        ``timeout`` is this case's deadline in seconds (default: the worker's ``timeout``).  A
        ``risky`` case (input outside the documented domain) runs in the forked child from the
        first one on, as cases like one that crashed do: a framework dies on such input first.
        """
        self.ensure_started()
        kind = structure(header, arrays)
        fork = (kind in self._isolated or risky) and not self._forks_slow
        if fork:
            header = {**header, "isolate": True}
        message = protocol.frame_parts(header, arrays)
        deadline = self.timeout if timeout is None else timeout
        self.pending.append(_Request(header.get("case_id", ""), message, deadline, kind, fork))
        assert self._outbox is not None
        self._outbox.put(message)

    def receive(self, case_id: str) -> RunResult:
        """The result of the oldest case sent (``case_id``), or CRASH/TIMEOUT.

        Raises ParityFailure when parity's own code failed in the worker (outside the framework's
        native call): that is never the framework's result.
        """
        assert self.pending and self.pending[0].case_id == case_id, "results are received in the order sent"
        timeout, kind = self.pending[0].timeout, self.pending[0].structure
        start = time.monotonic()
        try:
            header, arrays = self._receive(start + timeout)
        except _Died as exc:
            self._count_crash(kind, case_id, True)
            return self._lost(RunResult(case_id, self.runner, Status.CRASH, message=str(exc), seconds=time.monotonic() - start))
        except TimeoutError:
            self.kill()
            message = f"no result after {timeout:g} s; worker killed"
            return self._lost(RunResult(case_id, self.runner, Status.TIMEOUT, message=message, seconds=time.monotonic() - start))
        request = self.pending.popleft()
        if request.isolated and not self._forks_slow:
            self._check_fork_cost(request.structure, time.monotonic() - start)
        if header["status"] == protocol.PARITY_FAILURE:
            raise ParityFailure(
                f"parity's {self.runner} runner failed on case {case_id!r} before or after calling {self.runner} "
                f"({header['message']}); this is a bug in parity, not a {self.runner} result; traceback in {self.log_path}"
            )
        status = Status(header["status"])
        self._count_crash(kind, case_id, status is Status.CRASH, request.isolated)
        return RunResult(case_id, self.runner, status, arrays, header["message"], header["seconds"], header.get("determinism", {}))

    def _count_crash(self, kind: Structure, case_id: str, crashed: bool, isolated: bool = False) -> None:
        """After CRASHES_BEFORE_FORKING crashes on cases of one structure, run the next such cases in a child
        forked from the warm worker: a framework that dies on them then costs a fork per crash, not
        a restart (its results stay CRASH, measured, never assumed).  ``isolated``: the case ran in
        such a child already (a risky case), so the warm worker lived on."""
        if not crashed:
            return
        self._crashes[kind] = self._crashes.get(kind, 0) + 1
        if self._crashes[kind] >= CRASHES_BEFORE_FORKING and kind not in self._isolated and not self._forks_slow:
            self._isolated.add(kind)
            where = (f"in a child forked from the warm {self.runner} worker, which lives on; the next such cases run there too" if isolated
                     else f"the next such cases run in a child forked from the warm {self.runner} worker instead of restarting it for each crash")
            self.notices.append(
                f"{self.runner} crashed on {CRASHES_BEFORE_FORKING} case{'s' if CRASHES_BEFORE_FORKING > 1 else ''} like {case_id} "
                f"({', '.join(str(k) for k in kind if k is not None)}); {where}"
            )

    def _check_fork_cost(self, kind: Structure, seconds: float) -> None:
        """Forking pays only where it is cheaper than a restart: a framework whose forked child is
        slower than a fresh worker's start (measured: MindSpore 2.10, ~22 s a case) goes back to
        restarting after crashes, for every structure and for the rest of the run."""
        if seconds > max(self._startup, 1.0):
            self._isolated.clear()
            self._forks_slow = True
            self.notices.append(
                f"a case in a forked child of the {self.runner} worker took {seconds:.1f} s, more than a restart "
                f"({self._startup:.1f} s): {self.runner} is restarted after crashes again"
            )

    def _lost(self, result: RunResult) -> RunResult:
        """The worker is gone with this case: drop it, and restart for the cases queued behind it."""
        self.pending.popleft()
        self.proc = None
        if self.pending:
            self.ensure_started()
        return result

    def _receive(self, deadline: float) -> protocol.Message:
        """One reply, decoded by the protocol's codec over reads bound by ``deadline``.

        A reply the codec refuses (protocol.FrameError: a lying length, an unknown dtype) leaves
        the stream out of step: the worker is killed and the case reads as a crash of it.
        """
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        try:
            return protocol.read_frame(lambda view: self._readinto(fd, view, deadline))
        except protocol.FrameError as exc:
            self.kill()
            raise _Died(f"worker sent a malformed reply ({exc}); worker killed") from None

    def _readinto(self, fd: int, view: memoryview, deadline: float) -> None:
        """Fill ``view`` from the worker's stdout (straight into the array being received);
        TimeoutError past ``deadline``, _Died at its end."""
        got = 0
        while got < len(view):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            n = os.readv(fd, [view[got:]])
            if not n:
                assert self.proc is not None
                code = self.proc.wait()
                self.proc = None
                raise _Died(f"worker process died ({signal_name(code)})")
            got += n

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        """End of stream for the worker (it exits); kill it if it lingers, and the spare at once
        (it was never handed a request, and may still be importing its framework)."""
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.kill()
            spare.wait()
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


#: Pipe buffer asked for (Linux caps it at /proc/sys/fs/pipe-max-size, 1 MiB by default): a
#: gigabyte reply then crosses in 1 MiB reads rather than 64 KiB ones.
PIPE_BYTES = 1 << 20


def _widen_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Larger pipe buffers to and from the worker, where the system allows it (fewer, larger reads)."""
    for stream in (proc.stdin, proc.stdout):
        try:
            fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[union-attr]
        except (OSError, AttributeError, ValueError):
            pass  # not Linux, or above the system's limit: the default buffer works, more slowly


def _write_all(stdin: Any, outbox: queue.Queue[protocol.Parts | None]) -> None:
    """Writer thread: send queued requests in order; close stdin at the end (None) or when the worker is gone."""
    try:
        while (message := outbox.get()) is not None:
            for part in message:
                stdin.write(part)
            stdin.flush()
    except (OSError, ValueError):
        pass  # the worker died: the reader sees it and reports CRASH
    finally:
        try:
            stdin.close()
        except OSError:
            pass
